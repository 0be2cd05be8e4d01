from pathlib import Path

from streamlit.testing.v1 import AppTest

from mnist_cnn.prediction_wall import WALL_INDICES, WallDigit, WallState
from ui.live_run import class_accuracy_html, wall_html

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "1_Train.py")


def test_wall_html_marks_right_and_wrong_at_a_glance():
    state = WallState(digits=(WallDigit(3, 0, guess=0, confidence=0.97), WallDigit(2130, 4, guess=9, confidence=0.61),
                              WallDigit(7, 9)), progress_epochs=0.4)
    markup = wall_html(state, {3: "data:a", 2130: "data:b", 7: "data:c"})
    right, wrong, waiting = markup.split('<div class="wall-cell ')[1:]
    assert right.startswith("wall-right") and "✓ 0" in right and "97% sure" in right
    assert wrong.startswith("wall-wrong") and "✗ 9" in wrong and "is 4" in wrong
    assert waiting.startswith("wall-waiting") and ">?<" in waiting
    assert state.correct_count == 1


def test_class_accuracy_row_is_always_ten_cells():
    waiting = class_accuracy_html(WallState(digits=()))
    assert waiting.count("<b>") == 10 and "–" in waiting and "%" not in waiting
    done = class_accuracy_html(WallState(digits=(), class_accuracy=tuple(i / 10 for i in range(10)), class_accuracy_epoch=1))
    assert done.count("%") == 10 and done.count("class-weak") == 9  # every digit under 90% is flagged


def test_presenter_view_shows_the_live_run_and_nothing_else():
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.query_params["present"] = "1"
    app.run()
    assert not app.exception
    wall = next(markdown.value for markdown in app.markdown if "prediction-wall" in markdown.value)
    assert wall.count('class="wall-cell') == len(WALL_INDICES)
    assert not [header for header in app.subheader if header.value in ("Start a run", "Saved runs")]
    assert [button for button in app.button if button.label == "Leave presenter view"]
    normal = AppTest.from_file(PAGE, default_timeout=120).run()
    assert [header for header in normal.subheader if header.value == "Start a run"]
    assert [button for button in normal.button if button.label.startswith("Presenter view")]
