"""tqdm line mode: every progress bar is one line of output, updated in place.

A terminal redraws a bar by writing `\\r` and the new meter; in a notebook each
of those writes is a stream message, and the saved notebook keeps all of them.
Here a bar is one `display_data` output (text/plain: tqdm's own meter), made
when the bar first draws and then changed with `update_display_data`, so the
page and the notebook hold one clean line per bar.

`install_tqdm_line_mode()` makes `tqdm`, `tqdm.auto`, `tqdm.notebook`,
`tqdm.autonotebook`, `tqdm.asyncio` and `trange` draw that way. tqdm is not
imported here: an import hook patches its modules when the user imports them
(or at once, for modules already imported), so a kernel that never shows a
bar pays nothing for this at start.

Bars written to a file of their own (`file=open(...)`, `file=io.StringIO()`)
keep tqdm's terminal output; bars on stdout/stderr (the default) get a line.
"""

import sys
import time
import uuid
import weakref

#: at most this many updates per second of one bar's line (its first and last
#: state are always shown); tqdm's `mininterval` (0.1 s) limits them as well
MAX_UPDATES_PER_SECOND = 10

#: tqdm decides to refresh a moment before the bar draws; without this slack
#: the rate limit would drop every other of its 0.1 s refreshes
_TIMING_SLACK = 0.005

#: `file` is the fifth parameter of `tqdm.tqdm(iterable, desc, total, leave, file, ...)`
_FILE_ARG = 4


def publish_line(data, display_id, update):
    """Send a bar's line to the front end: a new display, or an update of it."""
    from IPython.display import publish_display_data

    publish_display_data(data, transient={"display_id": display_id}, update=update)


class FreeLines:
    """Lines left empty by nested bars closed with `leave=False`, by position.

    In a terminal the next inner bar of a nested loop draws on the line the
    previous one cleared; here it takes over that line's display, so a loop of
    100 inner bars leaves one line, not 100 empty outputs. Only lines below an
    open bar are taken over (within one cell), so a new top-level bar never
    jumps above output printed after an earlier one.
    """

    def __init__(self):
        self._by_position = {}

    def free(self, position, display_id):
        if position > 0:
            self._by_position[position] = display_id

    def take(self, position):
        return self._by_position.pop(position, None)

    def forget(self):
        self._by_position.clear()


free_lines = FreeLines()

#: bars drawing a line that are not closed yet (for the end-of-cell refresh)
open_bars = weakref.WeakSet()


class BarLine:
    """The output line of one bar: a display made on the first draw, then
    updated in place at most `MAX_UPDATES_PER_SECOND` times a second."""

    def __init__(self):
        self.display_id = None
        self.shown_at = None
        #: a draw was skipped by the rate limit: the line is behind the bar
        self.stale = False

    def due(self, now):
        """Whether a draw at `now` keeps within the rate limit."""
        if self.shown_at is None:
            return True
        return now - self.shown_at >= 1.0 / MAX_UPDATES_PER_SECOND - _TIMING_SLACK

    def show(self, text, position, now):
        update = True
        if self.display_id is None:
            # the first draw takes over a line freed below an open bar, or makes one
            self.display_id = free_lines.take(position)
            if self.display_id is None:
                self.display_id = uuid.uuid4().hex
                update = False
        self.shown_at = now
        self.stale = False
        publish_line({"text/plain": text}, self.display_id, update)

    def erase(self, position):
        """Empty the line (a bar closed with `leave=False`), free for reuse."""
        if self.display_id is None:
            return
        self.stale = False
        publish_line({"text/plain": ""}, self.display_id, True)
        free_lines.free(position, self.display_id)


class LineSink:
    """The `file` tqdm gets for a bar that draws a line.

    tqdm still writes its terminal controls (`\\r`, `\\n`, cursor moves) to the
    file when a bar opens, moves or closes; they must not reach the output. The
    sink reports the real stream's `isatty()`, so `disable=None` disables the
    bar exactly when stock tqdm would, and UTF-8, so the bar is drawn with
    blocks (not `#`) as on the real stream.
    """

    encoding = "utf-8"

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())


class LineMode:
    """Mixin for a tqdm class (before it in the bases): bars on stdout or
    stderr draw one output line; the meter is tqdm's own `str(bar)`."""

    def __init__(self, *args, **kwargs):
        self._line = None
        args, kwargs = self._line_arguments(args, kwargs)
        super().__init__(*args, **kwargs)
        if self._line is not None and not self.disable:
            open_bars.add(self)

    def _line_arguments(self, args, kwargs):
        """Give the bar a line (and tqdm a sink) unless it writes to a file of
        its own or is a GUI bar, which draws itself."""
        positional = len(args) > _FILE_ARG
        file = args[_FILE_ARG] if positional else kwargs.get("file")
        on_stdio = file is None or file is sys.stdout or file is sys.stderr
        if kwargs.get("gui") or not on_stdio:
            return args, kwargs
        self._line = BarLine()
        sink = LineSink(sys.stderr if file is None else file)
        if positional:
            args = args[:_FILE_ARG] + (sink,) + args[_FILE_ARG + 1 :]
        else:
            kwargs = dict(kwargs, file=sink)
        return args, kwargs

    def display(self, msg=None, pos=None):
        line = getattr(self, "_line", None)
        if line is None:
            return super().display(msg, pos)
        if self.disable:
            # `close()` disables the bar, then draws its last state or empties it
            self._close_line(line, msg)
            return True
        now = time.monotonic()
        if line.due(now):
            line.show(self.__str__() if msg is None else msg, abs(self.pos), now)
        else:
            line.stale = True
        return True

    def _close_line(self, line, msg):
        open_bars.discard(self)
        if msg == "":
            line.erase(abs(self.pos))
        else:
            line.show(self.__str__() if msg is None else msg, abs(self.pos), time.monotonic())
        if not any(not bar.disable for bar in open_bars):
            free_lines.forget()

    def show_stale_line(self):
        """Draw the bar's current state if the rate limit skipped it."""
        line = getattr(self, "_line", None)
        if line is not None and line.stale and not self.disable:
            line.show(self.__str__(), abs(self.pos), time.monotonic())


class NotebookLineMode(LineMode):
    """`tqdm.notebook.tqdm` as a line: it takes (and ignores) the notebook
    bar's `display=` argument, which only delays showing its widget."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("display", None)
        super().__init__(*args, **kwargs)


def end_of_cell(*_):
    """After each cell: draw what the rate limit skipped (a bar left open, its
    last `set_postfix` ...), and stop reusing this cell's empty lines."""
    for bar in list(open_bars):
        bar.show_stale_line()
    free_lines.forget()


# --- patching tqdm ---------------------------------------------------------------
def line_class(cls):
    """`cls` drawing lines (itself when it already does)."""
    if issubclass(cls, LineMode):
        return cls
    return type(cls.__name__, (LineMode, cls), {"__module__": __name__, "__doc__": cls.__doc__})


def patch_std(module):
    """`tqdm.std`: the base class every other tqdm class derives from. Classes
    defined after this (tqdm.asyncio, tqdm.auto, tqdm.contrib ...) inherit the
    line; `std.trange` looks `tqdm` up in the module, so it follows."""
    # the monitor is a thread: Pyodide cannot start one (stock tqdm warns in
    # red), and from ipykernel's it would draw lines outside the cell's flow
    module.tqdm.monitor_interval = 0
    module.tqdm = line_class(module.tqdm)


def patch_package(module):
    """`tqdm` itself, when it was imported before line mode was installed."""
    module.tqdm = sys.modules["tqdm.std"].tqdm


def patch_asyncio(module):
    module.tqdm = module.tqdm_asyncio = line_class(module.tqdm_asyncio)


def patch_notebook(module):
    """`tqdm.notebook` draws ipywidgets; as a line it needs none. Its `trange`
    and `tnrange` look `tqdm_notebook` up in the module, so they follow."""
    if issubclass(module.tqdm_notebook, NotebookLineMode):
        return
    std_line = sys.modules["tqdm.std"].tqdm
    line = type(
        "tqdm_notebook",
        (NotebookLineMode, std_line),
        {"__module__": __name__, "__doc__": module.tqdm_notebook.__doc__},
    )
    module.tqdm = module.tqdm_notebook = line


def patch_autonotebook(module):
    """`tqdm.autonotebook` picks the notebook or the console frontend; line
    mode is both, so it is the console branch (`tqdm.std`)."""
    std = sys.modules["tqdm.std"]
    module.tqdm, module.trange = std.tqdm, std.trange
    module.__all__ = ["tqdm", "trange"]


def patch_auto(module):
    module.tqdm = sys.modules["tqdm.asyncio"].tqdm


#: module -> (patch, whether its own code runs first); in dependency order
PATCHES = {
    "tqdm.std": (patch_std, True),
    "tqdm": (patch_package, True),
    "tqdm.asyncio": (patch_asyncio, True),
    "tqdm.notebook": (patch_notebook, True),
    # its own code only chooses a frontend, importing ipywidgets and warning
    # when they are missing: line mode skips it
    "tqdm.autonotebook": (patch_autonotebook, False),
    "tqdm.auto": (patch_auto, True),
}

#: modules whose patch runs after import (`tqdm` and `tqdm.auto` need none
#: then: they take their classes from the patched modules)
_PATCHED_ON_IMPORT = ("tqdm.std", "tqdm.asyncio", "tqdm.notebook", "tqdm.autonotebook")


class PatchingLoader:
    """Runs a tqdm module (or not, see PATCHES) and then its patch."""

    def __init__(self, loader, patch, run_module):
        self.loader, self.patch, self.run_module = loader, patch, run_module

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # the module keeps its real loader: tracebacks, reload and
        # importlib.resources see no trace of this hook
        module.__loader__ = module.__spec__.loader = self.loader
        if self.run_module:
            self.loader.exec_module(module)
        self.patch(module)


class TqdmImportHook:
    """A `sys.meta_path` finder that patches tqdm's modules as they load."""

    def find_spec(self, name, path=None, target=None):
        if name not in _PATCHED_ON_IMPORT:
            return None
        spec = self._find_elsewhere(name, path, target)
        if spec is not None and spec.loader is not None:
            patch, run_module = PATCHES[name]
            spec.loader = PatchingLoader(spec.loader, patch, run_module)
        return spec

    def _find_elsewhere(self, name, path, target):
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(name, path, target)
            if spec is not None:
                return spec
        return None

    def invalidate_caches(self):
        pass


def install_tqdm_line_mode(shell=None):
    """Make tqdm draw line-mode bars from now on; safe to call again.

    `shell` (default: the running IPython) gets an end-of-cell hook that draws
    what the rate limit skipped. Modules of tqdm imported before this call are
    patched at once, but names a cell already bound (`from tqdm import tqdm`)
    keep the old class: import tqdm after this.
    """
    if not any(isinstance(finder, TqdmImportHook) for finder in sys.meta_path):
        sys.meta_path.insert(0, TqdmImportHook())
    for name, (patch, _) in PATCHES.items():
        module = sys.modules.get(name)
        if module is not None:
            patch(module)
    if shell is None:
        shell = _running_ipython()
    if shell is not None:
        _register_once(shell.events, "post_run_cell", end_of_cell)


def _running_ipython():
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def _register_once(events, event, callback):
    if callback not in events.callbacks.get(event, []):
        events.register(event, callback)
