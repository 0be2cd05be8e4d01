"""A browserless Streamlit client: one session over Streamlit's WebSocket protocol.

It sends the ``BackMsg`` protobufs a browser sends and decodes the ``ForwardMsg`` replies with
the classes that ship with Streamlit, keeping just enough of the page to act like a visitor:
pages by URL path, widgets and keyed containers by their ``key`` (never by position, so a page
can change its layout), fragments that ask to be rerun every few seconds. Anyone may listen to the
messages it receives (:meth:`StreamlitClient.listen`). Used by the class's sessions
(``support/class_sessions.py``), the load benchmarks and their smoke tests.
"""
import asyncio
import contextlib
import json
import re
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

# The Draw page shows the digit it read in a paragraph of this CSS class.
ANSWER_CLASS = "predicted-digit"
BROWSER_CACHE_RUNS = 2  # Streamlit's global.maxCachedMessageAge: script runs a browser keeps a cached message unused
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


def widget_key(element_id):
    """The user key of a Streamlit element id (``$$ID-<hash>-<key>``), or None when it has none."""
    parts = element_id.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "$$ID" and parts[2] != "None" else None


def element_id(element):
    """The id of a widget or keyed element in a ``newElement`` delta ('' when it has none)."""
    kind = element.WhichOneof("type")
    return getattr(getattr(element, kind), "id", "") if kind else ""


def element_text(element):
    """The text a markdown, html, alert or heading element shows ('' for any other element)."""
    kind = element.WhichOneof("type")
    return getattr(getattr(element, kind), "body", "") if kind in ("markdown", "html", "alert", "heading") else ""


def answer_in(message, css_class=ANSWER_CLASS):
    """The text of the element of ``css_class`` that this ForwardMsg brings, or None."""
    if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
        return None
    match = re.search(rf'class="{re.escape(css_class)}"[^>]*>(.*?)<', element_text(message.delta.new_element), re.S)
    return match.group(1).strip() if match else None


def canvas_value(template_json, png_data_url):
    """The drawable canvas's component value of a recorded drawing with its image replaced."""
    value = json.loads(template_json)
    value["drawing"]["data"] = png_data_url
    return json.dumps(value, separators=(",", ":"))


class ProtocolError(RuntimeError):
    """The server closed the session, showed an exception, or never answered."""


class StreamlitClient:
    """One visitor's session, without a browser."""

    def __init__(self, base_url, context_info=None):
        self.base_url = base_url.rstrip("/")
        self.context_info = context_info or {"timezone": "UTC", "locale": "en-US", "color_scheme": "light"}
        self.pages = {}  # url path ("" for the home page) -> page script hash
        self.page_hash = ""
        self.widget_ids = {}  # key -> widget id, as the current page last drew them
        self.element_ids = set()  # ids of every widget the current page drew, keyed or not
        self.block_paths = {}  # key -> delta path of the keyed container
        self.components = {}  # custom component name -> its element id
        self.buttons = {}  # label -> id of every button the current page drew (a form's submit button has no key)
        self.auto_reruns = {}  # fragment id -> interval in seconds
        self.exceptions = []
        self.received = 0
        self.received_bytes = 0  # every message's bytes, decompressed
        self.wire_bytes = 0  # every byte the server sent on the connection (WebSocket frames, compressed when negotiated)
        self.sent_wire_bytes = 0  # ... and every byte this client sent
        self.last_frame_bytes = 0  # the frame the listeners are being told about (see listen)
        self.last_frame = b""  # ... itself, as it came (a reference's message came earlier)
        self.last_frame_was_reference = False  # ... and whether it was a short reference to a message held
        # Hashes of the cacheable messages received -> the run that last used them; reported on every rerun, as a
        # browser does, so an unchanged big message comes back as a short reference (the browser forgets after 2 runs).
        self.browser_cache = {}
        self._runs_finished = 0
        self.closed = None  # the reason, once the server closed the session
        self._cache = {}  # message hash -> message, for ref_hash replies
        self._listeners = []
        self._run_finished = asyncio.Event()
        self._run_finished.set()
        self._finish_status = None
        self._socket = None
        self._reader = None

    def listen(self, listener):
        """Call ``listener(message, received_at)`` with every ForwardMsg received from now on (a reference to a
        message held comes as that message; ``last_frame`` is the frame as it came, ``received_at`` its
        ``time.perf_counter()``); returns a function that stops it (once or more)."""
        self._listeners.append(listener)

        def stop():
            if listener in self._listeners:
                self._listeners.remove(listener)

        return stop

    @contextlib.contextmanager
    def listening(self, listener):
        """``with``: :meth:`listen` for the block only."""
        stop = self.listen(listener)
        try:
            yield
        finally:
            stop()

    async def connect(self, timeout=60, cookies=None):
        """Open the session; ``cookies`` (name -> value) go in the handshake's Cookie header, as a browser
        sends them (the app reads them as ``st.context.cookies``)."""
        url = self.base_url.replace("http", "ws", 1) + "/_stcore/stream"
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())} if cookies else None
        self._socket = await websockets.connect(
            url, subprotocols=["streamlit"], origin=self.base_url, max_size=None, open_timeout=timeout, ping_interval=None,
            additional_headers=headers,
        )
        self._count_wire_bytes()
        self._reader = asyncio.create_task(self._read())

    def _count_wire_bytes(self):
        deliver = self._socket.data_received  # what the transport calls with each chunk read from the socket

        def counted(data):
            self.wire_bytes += len(data)
            deliver(data)

        self._socket.data_received = counted
        transport = self._socket.transport
        send = transport.write

        def counted_send(data):
            self.sent_wire_bytes += len(data)
            send(data)

        transport.write = counted_send

    async def close(self):
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self):
        try:
            async for frame in self._socket:
                received_at = time.perf_counter()
                self.received_bytes += len(frame)
                self.last_frame_bytes, self.last_frame = len(frame), frame
                message = ForwardMsg()
                message.ParseFromString(frame)
                self.last_frame_was_reference = message.WhichOneof("type") == "ref_hash"
                if self.last_frame_was_reference:
                    if message.ref_hash in self.browser_cache:
                        self.browser_cache[message.ref_hash] = self._runs_finished
                    message = self._cache.get(message.ref_hash, message)
                elif message.hash:
                    self._cache[message.hash] = message
                    if message.metadata.cacheable:
                        self.browser_cache[message.hash] = self._runs_finished
                self.received += 1
                self._handle(message)
                for listener in list(self._listeners):
                    listener(message, received_at)
        except websockets.ConnectionClosed as closed:
            self.closed = f"connection closed: {closed}"
        except Exception as error:  # noqa: BLE001 - reported as the session's error
            self.closed = f"{type(error).__name__}: {error}"
        finally:
            self.closed = self.closed or "connection closed"
            self._run_finished.set()

    def _handle(self, message):
        kind = message.WhichOneof("type")
        if kind == "navigation":
            self.pages = {page.url_pathname: page.page_script_hash for page in message.navigation.app_pages}
            self.page_hash = message.navigation.page_script_hash
        elif kind == "auto_rerun":
            self.auto_reruns[message.auto_rerun.fragment_id] = message.auto_rerun.interval
        elif kind == "script_finished" and message.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            pass  # the page asked for a full run (st.rerun): the run it starts finishes the one waited for
        elif kind == "script_finished":
            self._runs_finished += 1
            self.browser_cache = {h: run for h, run in self.browser_cache.items() if self._runs_finished - run <= BROWSER_CACHE_RUNS}
            self._finish_status = message.script_finished
            self._run_finished.set()
        elif kind == "delta":
            delta, path = message.delta, tuple(message.metadata.delta_path)
            if delta.WhichOneof("type") == "new_element":
                identifier = element_id(delta.new_element)
                if identifier:
                    self.element_ids.add(identifier)
                if widget_key(identifier):
                    self.widget_ids[widget_key(identifier)] = identifier
                if delta.new_element.WhichOneof("type") == "button":
                    self.buttons[delta.new_element.button.label] = identifier
                if delta.new_element.WhichOneof("type") == "bidi_component":
                    self.components[delta.new_element.bidi_component.component_name] = identifier
                if delta.new_element.WhichOneof("type") == "exception":
                    self.exceptions.append(delta.new_element.exception.message)
            elif delta.WhichOneof("type") == "add_block" and widget_key(delta.add_block.id):
                self.block_paths[widget_key(delta.add_block.id)] = path

    async def send_rerun(self, page=None, widgets=(), fragment_id=""):
        """Ask for a script run of ``page`` (a URL path; default: the current page) with these widget
        states (``WidgetState`` protobufs, e.g. from a recorded BackMsg); return the send time."""
        if self.closed:
            raise ProtocolError(self.closed)
        message = BackMsg()
        rerun = message.rerun_script
        if page is not None:
            rerun.page_name = page
            if page in self.pages:
                rerun.page_script_hash = self.pages[page]
        else:
            rerun.page_script_hash = self.page_hash
        rerun.fragment_id = fragment_id
        if not fragment_id:  # a full run redraws the whole page; a fragment's run only the fragment
            self.widget_ids, self.block_paths, self.components, self.auto_reruns, self.buttons = {}, {}, {}, {}, {}
            self.element_ids = set()
        rerun.is_auto_rerun = bool(fragment_id)
        rerun.context_info.url = f"{self.base_url}/{page or ''}"
        for field, value in self.context_info.items():
            setattr(rerun.context_info, field, value)
        rerun.widget_states.widgets.extend(widgets)
        rerun.cached_message_hashes.extend(sorted(self.browser_cache))
        self._run_finished.clear()
        self._finish_status = None
        await self._socket.send(message.SerializeToString())
        return time.perf_counter()

    async def wait_for_run(self, timeout=120):
        """Wait until the script run asked for has finished; raise if it failed or the session closed."""
        try:
            await asyncio.wait_for(self._run_finished.wait(), timeout)
        except TimeoutError:
            raise ProtocolError(f"no script run finished within {timeout} s") from None
        if self.closed:
            raise ProtocolError(self.closed)
        if self.exceptions:
            raise ProtocolError(f"the page showed an exception: {self.exceptions[-1]}")
        if self._finish_status not in FINISHED_OK:
            raise ProtocolError(f"script run ended with {ForwardMsg.ScriptFinishedStatus.Name(self._finish_status)}")

    async def open_page(self, page, timeout=120):
        """Open a page by its URL path ('' for home), as a browser does on load; return the seconds it took."""
        started = await self.send_rerun(page=page)
        await self.wait_for_run(timeout)
        return time.perf_counter() - started

    async def rerun_until_answer(self, widgets, css_class=ANSWER_CLASS, timeout=120):
        """Send a rerun with these widget states and wait for the element of ``css_class`` it brings.

        Returns (seconds from sending to the message carrying the answer, the answer's text); the
        text is None when the run finished without one (then the seconds are to the run's end).
        """
        answer = asyncio.get_running_loop().create_future()

        def listen(message, received_at):
            text = answer_in(message, css_class)
            if text is not None and not answer.done():
                answer.set_result((received_at, text))

        with self.listening(listen):
            sent = await self.send_rerun(widgets=widgets)
            finished = asyncio.ensure_future(self.wait_for_run(timeout))
            done, _ = await asyncio.wait({answer, finished}, return_when=asyncio.FIRST_COMPLETED, timeout=timeout)
            if answer in done:
                received_at, text = answer.result()
                await finished  # the next drawing starts from a page at rest
                return received_at - sent, text
            if finished in done:
                finished.result()  # raises if the run failed
                return time.perf_counter() - sent, None
            finished.cancel()
            raise ProtocolError(f"no answer within {timeout} s")

    def text_seen(self, words):
        """A future set to the first element text containing ``words`` that arrives from now on."""
        seen = asyncio.get_running_loop().create_future()

        def listen(message, _received_at):
            if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
                text = element_text(message.delta.new_element)
                if words in text and not seen.done():
                    seen.set_result(text)

        stop = self.listen(listen)
        seen.add_done_callback(lambda _: stop())
        return seen

    def widget_states(self, recorded, replace=None):
        """Widget states for this session from a recorded rerun's, matched by key; ``replace`` maps a
        key to a function that edits that widget's state in place. An unkeyed widget is kept while the
        page still draws one of the same id (same type and arguments); widgets it no longer has are dropped."""
        states = []
        for recorded_state in recorded:
            key = widget_key(recorded_state.id)
            if key is None and recorded_state.id not in self.element_ids or key is not None and key not in self.widget_ids:
                continue
            state = type(recorded_state)()
            state.CopyFrom(recorded_state)
            state.id = self.widget_ids[key] if key else recorded_state.id
            if replace and key in replace:
                replace[key](state)
            states.append(state)
        return states
