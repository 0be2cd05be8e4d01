// The Mistakes page's confusion matrix (ui/mistakes.py): a grid of buttons, one tab stop, arrow keys within.
export default function ({ data, parentElement, setTriggerValue }) {
  let grid = parentElement.querySelector(".cm");
  if (!grid) {
    grid = document.createElement("div");
    grid.className = "cm";
    grid.setAttribute("role", "group");
    grid.setAttribute("aria-label", "Confusion matrix: arrow keys move between cells, Enter shows a cell's mistakes");
    grid.addEventListener("keydown", moveFocus);
    parentElement.appendChild(grid);
  }
  // One tab stop for the hundred cells (the arrow keys move within); a redraw keeps the focused cell focused.
  const focused = parentElement.getRootNode().activeElement;
  const kept = focused && grid.contains(focused) ? [Number(focused.dataset.true), Number(focused.dataset.predicted)] : null;
  const current = kept || data.chosen || [0, 0];
  const cell = (tag, className, text) => {
    const element = document.createElement(tag);
    element.className = className;
    element.textContent = text;
    return element;
  };
  const parts = [cell("div", "cm-title", "rows: true digit ↓ · columns: predicted →"), cell("div", "cm-label", "")];
  for (let predicted = 0; predicted < 10; predicted++) parts.push(cell("div", "cm-label", String(predicted)));
  data.rows.forEach((row, trueDigit) => {
    parts.push(cell("div", "cm-label", String(trueDigit)));
    row.forEach((entry, predicted) => {
      const mistake = trueDigit !== predicted;
      const button = cell("button", "cm-cell", entry.count || !mistake ? String(entry.count) : "");
      button.type = "button";
      button.style.background = entry.background;
      button.style.color = entry.color;
      button.dataset.true = trueDigit;
      button.dataset.predicted = predicted;
      button.setAttribute("aria-label", `true ${trueDigit}, predicted ${predicted}: ${entry.count}${mistake ? " mistakes" : " correct"}`);
      const chosen = data.chosen && data.chosen[0] === trueDigit && data.chosen[1] === predicted;
      button.setAttribute("aria-pressed", chosen ? "true" : "false");
      button.tabIndex = current[0] === trueDigit && current[1] === predicted ? 0 : -1;
      button.onclick = () => setTriggerValue("cell", [trueDigit, predicted]);
      parts.push(button);
    });
  });
  grid.replaceChildren(...parts);
  if (kept) grid.querySelector(`.cm-cell[data-true="${kept[0]}"][data-predicted="${kept[1]}"]`).focus();
}

const MOVES = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

function moveFocus(event) {
  const cell = event.target.closest(".cm-cell");
  if (!cell) return;
  let [trueDigit, predicted] = [Number(cell.dataset.true), Number(cell.dataset.predicted)];
  if (event.key in MOVES) {
    trueDigit = Math.min(9, Math.max(0, trueDigit + MOVES[event.key][0]));
    predicted = Math.min(9, Math.max(0, predicted + MOVES[event.key][1]));
  } else if (event.key === "Home" || event.key === "End") {
    predicted = event.key === "Home" ? 0 : 9;
  } else {
    return;
  }
  event.preventDefault();
  const next = cell.parentElement.querySelector(`.cm-cell[data-true="${trueDigit}"][data-predicted="${predicted}"]`);
  cell.tabIndex = -1;
  next.tabIndex = 0;
  next.focus();
}
