"""A page with one of each Streamlit element whose internals the app's styles and scripts rely on
(ui/streamlit_internals.py): tests/test_streamlit_internals.py serves it as app.py and looks for each."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st


def probe():
    st.title("Probe")
    st.subheader("A heading with an anchor")
    with st.container(key="probe-links"):
        st.page_link(OTHER, label="Other")
    st.metric("A metric", "1")
    left, right = st.columns(2)
    left.markdown("Markdown")
    with st.container(key="probe-box"):
        st.plotly_chart(go.Figure(go.Bar(y=[1, 2])), key="probe-chart", config={"displayModeBar": False})
    st.progress(0.5, text="Progress")
    st.number_input("A number", value=1)
    st.selectbox("A choice", ["a", "b"])
    st.text_input("A text")
    st.image(np.zeros((28, 28), np.uint8), caption="A caption")
    with st.expander("An expander", expanded=True), st.container(key="probe-in-expander"):
        st.write("Inside")
    st.html(
        "<script>document.body.dataset.probeCurrentScript = document.currentScript ? 'yes' : 'no';</script>",
        unsafe_allow_javascript=True,
    )


def other():
    st.write("Another page")


OTHER = st.Page(other, title="Other", icon=":material/home:")
st.navigation([st.Page(probe, title="Probe", icon=":material/search:", default=True), OTHER], position="top").run()
