"""MNIST CNN Studio: the entry point (navigation) and the home page."""
import streamlit as st

from mnist_cnn.data import load_test_set
from mnist_cnn.paths import FAVICON_PATH
from mnist_cnn.precomputed import tutorial_layer_rows
from ui.accessibility import accessibility_styles
from ui.active_model import active_model_label, test_set_probabilities
from ui.identity import carry_identity
from ui.join_card import home_join_ui
from ui.navigation import phone_navigation_ui
from ui.page_styles import page_styles
from ui.rooms import keep_room, room_line_ui, room_message_ui, start_or_join_ui, taught_classes_ui
from ui.run_store import sync_saved_runs
from ui.server_tuning import tune_streamlit_for_tensorflow
from ui.teacher import keep_teacher_rights

# Every page runs through this entry point. No TensorFlow here: the home page shows shipped figures,
# and what needs a model imports it (ui.server_tuning.import_tensorflow).
tune_streamlit_for_tensorflow()


def home():
    st.set_page_config(page_title="MNIST CNN Studio", layout="wide")
    st.title("MNIST CNN Studio")
    start_or_join_ui()
    taught_classes_ui()
    st.markdown(
        "Watch a convolutional network learn to read handwritten digits, draw your own digits for it, "
        "and browse the test digits it still gets wrong. The network is the one from the classic "
        "tutorial *“build a CNN that reaches >99% accuracy on MNIST”*, trained correctly."
    )
    train_link, draw_link, mistakes_link, class_link = st.columns(4)
    train_link.page_link(TRAIN, label="**Train**: watch it learn, live", icon=":material/show_chart:")
    draw_link.page_link(DRAW, label="**Draw**: a digit for it to read", icon=":material/draw:")
    mistakes_link.page_link(MISTAKES, label="**Mistakes**: the digits it gets wrong", icon=":material/search:")
    class_link.page_link(CLASS, label="**Class**: how well it reads us", icon=":material/groups:")
    home_join_ui()

    _, labels = load_test_set()
    probabilities = test_set_probabilities()
    correct = int((probabilities.argmax(axis=1) == labels).sum())
    rows = list(tutorial_layer_rows())

    accuracy_column, mistakes_column, parameters_column = st.columns(3)
    accuracy_column.metric("Test accuracy of the active model", f"{correct / len(labels):.2%}")
    mistakes_column.metric("Test digits it gets wrong", f"{len(labels) - correct:,} of {len(labels):,}")
    parameters_column.metric("Parameters in the tutorial network", f"{sum(row['parameters'] for row in rows):,}")
    st.caption(f"Active model: {active_model_label()}. Choose another on the Train page.")

    st.subheader("The tutorial network")
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={"parameters": st.column_config.NumberColumn(format="localized")},
    )

    with st.expander("What the tutorial got wrong, and what this app does instead"):
        st.markdown(
            "The tutorial claims 99.2% test accuracy, but its own printed run ends at **8.92%**: the cell "
            "that scales pixels from 0–255 to 0–1 was never executed, and the model was compiled with "
            "plain SGD although the text says Adam. With raw pixels and SGD the network never leaves "
            "chance level. This app scales the pixels and trains with Adam, as the text intended; the "
            "Train page lets you switch both back to see the failure for yourself."
        )

    st.caption(
        "MNIST: Y. LeCun, C. Cortes and C. J. C. Burges, licensed CC BY-SA 3.0. "
        "Only the 10,000-image test split ships with the app."
    )


TRAIN = st.Page("app_pages/1_Train.py", title="Train", icon=":material/show_chart:")
DRAW = st.Page("app_pages/2_Draw.py", title="Draw", icon=":material/draw:")
MISTAKES = st.Page("app_pages/3_Mistakes.py", title="Mistakes", icon=":material/search:")
CLASS = st.Page("app_pages/4_Class.py", title="Class", icon=":material/groups:")
# The pages live in app_pages/, not pages/: with a pages/ folder Streamlit runs a deep link (/Draw) without
# this script, server-wide until someone opens the home page, so without the tuning above (docs/capacity.md, "Deep links").
# Top navigation on screens from 768 px; below that Streamlit moves it into the sidebar, whose list is
# switched off in config.toml, and phone_navigation_ui shows a row of links instead.
PAGES = [st.Page(home, title="Home", icon=":material/home:", default=True), TRAIN, DRAW, MISTAKES, CLASS]
# The icon is set before st.navigation, or the browser fetches each page's material icon from fonts.gstatic.com.
st.set_page_config(page_icon=str(FAVICON_PATH))
keep_room()  # a join link's ?room= joins; a room that has closed is left
keep_teacher_rights()  # no token in the address: a one-time sign-in link is exchanged, old ?teacher= links refused
sync_saved_runs()  # runs trained by another server or before a restart (a wiped disk) come back from the database
carry_identity()  # who this browser is (visitor id, room, teacher and quiz host tokens) lives in cookies
current_page = st.navigation(PAGES, position="top")
phone_navigation_ui(PAGES)  # phones get no top navigation from Streamlit
room_line_ui()  # the class room's code on every page
room_message_ui()  # joined, started, ended: said once, on whichever page it happened
accessibility_styles()  # focus ring, reduced motion
page_styles()  # the live run's layout, present in every frame of a rerun
current_page.run()
