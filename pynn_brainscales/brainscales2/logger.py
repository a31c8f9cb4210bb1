"""The real system's logger API (`pynn.logger`, pylogging there) on Python's
logging, so that scripts opening with

    pynn.logger.default_config(level=pynn.logger.LogLevel.INFO)
    log = pynn.logger.get("demo")
    log.INFO("spikes: ", count)

run unchanged.  Loggers live under the Python logger "brainscales2"; a
message is its parts joined without separator, as pylogging writes them.
"""
import enum
import logging
import sys

ROOT = "brainscales2"


class LogLevel(enum.IntEnum):
    ALL = 1
    TRACE = 5
    DEBUG = logging.DEBUG
    INFO = logging.INFO
    WARN = logging.WARNING
    ERROR = logging.ERROR
    FATAL = logging.CRITICAL


class Logger:
    """A named logger with pylogging's methods, two per level: upper case
    (`log.INFO("spikes: ", count)`: the parts joined) and lower case
    (`log.info("%s spikes", count)`: formatted as Python's logging does)."""

    def __init__(self, name):
        self.name = name
        self.python_logger = logging.getLogger(f"{ROOT}.{name}" if name else ROOT)

    def _log(self, level, parts):
        if self.python_logger.isEnabledFor(level):
            self.python_logger.log(level, "".join(str(part) for part in parts))


def _joining(level):
    def log(self, *parts):
        self._log(level, parts)
    log.__doc__ = f"Log the parts, joined without separator, at {level.name}."
    return log


def _formatting(level):
    def log(self, message, *args):
        self.python_logger.log(level, message, *args)
    log.__doc__ = f"Log message % args at {level.name}, as Python's logging does."
    return log


for _member in LogLevel:
    if _member is not LogLevel.ALL:
        setattr(Logger, _member.name, _joining(_member))
        setattr(Logger, _member.name.lower(), _formatting(_member))


def _level(level):
    try:
        return int(LogLevel(level))
    except ValueError:
        raise ValueError(f"level: value {level!r} is not one of "
                         f"{[member.name for member in LogLevel]}") from None


def default_config(level=LogLevel.WARN, fname="", print_location=False, color=True,
                   date_format="RELATIVE"):
    """All loggers at `level`, written to stderr (or appended to `fname`).
    `color` and `date_format` (terminal styling of pylogging) are accepted and
    have no effect."""
    root = logging.getLogger(ROOT)
    root.setLevel(_level(level))
    _remove_handlers(root)
    handler = logging.FileHandler(fname) if fname else logging.StreamHandler(sys.stderr)
    location = " %(pathname)s:%(lineno)d" if print_location else ""
    handler.setFormatter(logging.Formatter(f"%(levelname)s %(name)s{location}: %(message)s"))
    root.addHandler(handler)
    root.propagate = False


def get(name):
    """The logger `name` (created on first use)."""
    return Logger(str(name))


def set_loglevel(logger, level):
    """Set `logger`'s level (a Logger from get())."""
    logger.python_logger.setLevel(_level(level))


def reset():
    """Back to Python logging's defaults for these loggers."""
    root = logging.getLogger(ROOT)
    _remove_handlers(root)
    root.setLevel(logging.NOTSET)
    root.propagate = True


def _remove_handlers(logger):
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
