"""Mistakes: browse the test digits the active model gets wrong."""
import numpy as np
import streamlit as st

from mnist_cnn.data import load_test_set
from mnist_cnn.mistakes import confusion_matrix, find_mistakes
from ui.active_model import active_model_label, test_set_probabilities
from ui.mistakes import (
    confused_pairs_ui,
    confusion_matrix_ui,
    gallery_filters_ui,
    gallery_ui,
    inspect_dialog,
    mistake_count_ui,
)

st.set_page_config(page_title="Mistakes · MNIST CNN Studio", layout="wide")

st.title("Mistakes", anchor=False)
st.caption(f"The 10,000 MNIST test digits as seen by {active_model_label()}.")

images, labels = load_test_set()
probabilities = test_set_probabilities()
confusion = confusion_matrix(labels, probabilities.argmax(axis=1))
correct = int(np.trace(confusion))

with st.container(horizontal=True, gap="medium"):
    st.metric("Test accuracy", f"{correct / len(labels):.2%}", width="content")
    st.metric("Mistakes", f"{len(labels) - correct:,} of {len(labels):,}", width="content")

matrix_column, gallery_column = st.columns([1, 2], gap="medium")
with matrix_column:
    st.subheader("Confusion matrix", anchor=False)
    st.caption("Tap a red cell, or a pair below, to show those mistakes.")
    confusion_matrix_ui(confusion)
    confused_pairs_ui(confusion)
with gallery_column:
    st.subheader("Gallery", anchor=False)
    true_digit, predicted_digit, order = gallery_filters_ui()
    mistakes = find_mistakes(labels, probabilities, true_digit, predicted_digit, order)
    mistake_count_ui(mistakes, true_digit, predicted_digit)
    inspected = gallery_ui(images, mistakes)
if inspected is not None:
    inspect_dialog(inspected, images[inspected], labels[inspected], probabilities[inspected])
