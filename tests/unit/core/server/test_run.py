"""The server's run loop: the garbage collector is tuned for serving once the stack has started."""

import gc

from polystack.core.server.run import YOUNG_GC_THRESHOLD, freeze_startup_objects


def test_objects_alive_at_startup_leave_the_collector_and_young_collections_are_rarer():
    thresholds = gc.get_threshold()
    try:
        startup_object = [["alive at startup"]]  # a list: always tracked by the collector
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == YOUNG_GC_THRESHOLD
        assert all(held is not startup_object for held in gc.get_objects())  # frozen: no generation holds it
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
