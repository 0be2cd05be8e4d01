// The live run's steady chart (ui/live_run.py, steady_chart; assets/styles/steady-chart.css): each chart mounted
// in a slot goes above every chart mounted before it, and stays transparent until plotly has drawn it, so the
// chart beneath shows meanwhile. Installed once per page; charts mounted together rank in page order.
// (A CSS animation did this before, but a running animation makes the browser draw a frame 60 times a second.)
(function () {
  if (window.steadyChartObserver) { return; }
  var CHARTS = '.st-key-steady-chart .stPlotlyChart';
  var mounted = 0;
  function lift(chart) { chart.style.zIndex = String(++mounted); }
  window.steadyChartObserver = new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      mutation.addedNodes.forEach(function (node) {
        if (node.nodeType !== Node.ELEMENT_NODE) { return; }
        if (node.matches(CHARTS)) { lift(node); }
        node.querySelectorAll(CHARTS).forEach(lift);
      });
    });
  });
  window.steadyChartObserver.observe(document.body, { childList: true, subtree: true });
  document.querySelectorAll(CHARTS).forEach(lift);
})
