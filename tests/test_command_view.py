"""What a run needs of a command (its shown and encoded argv, its ok codes)
is worked out once per command object; it never leaks into the command's
value and never outlives it."""

from __future__ import annotations

import copy
import gc
import pickle

from cuprum import Secret
from cuprum._execution import _views
from cuprum.sh import make
from helpers import FIXTURE, TEST_CATALOGUE

fx = make(FIXTURE, catalogue=TEST_CATALOGUE)


def test_a_command_that_has_run_still_equals_hashes_and_pickles_as_a_fresh_one() -> None:
    ran = fx("echo", "same")
    fresh = fx("echo", "same")
    assert ran.run_sync().stdout == "same\n"
    assert ran == fresh
    assert hash(ran) == hash(fresh)
    assert repr(ran) == repr(fresh)
    assert pickle.loads(pickle.dumps(ran)) == fresh
    assert copy.deepcopy(ran) == fresh


def test_a_copy_with_other_ok_codes_is_run_with_its_own_codes() -> None:
    failing = fx("exit", 1)
    # The original runs first, so its view (only 0 is ok) exists already.
    assert not failing.run_sync().ok
    pipeline = fx("cat") | failing.with_ok_codes(0, 1)
    result = pipeline.run_sync(check=True)
    assert result.ok
    assert result.failure_index is None


def test_a_secret_argument_reaches_every_run_and_is_shown_masked() -> None:
    cmd = fx("echo", Secret("hunter2"))
    for _ in range(2):
        result = cmd.run_sync()
        assert result.stdout == "hunter2\n"
        assert result.argv == ("echo", "***")


def test_a_commands_view_goes_with_the_command() -> None:
    cmd = fx("echo", "transient")
    cmd.run_sync()
    key = id(cmd)
    assert key in _views
    del cmd
    gc.collect()
    assert key not in _views
