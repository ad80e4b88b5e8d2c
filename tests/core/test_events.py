import threading

from lrstudio.core.events import (
    BatchingReporter,
    EpochLogged,
    ListReporter,
    RunFinished,
    RunStarted,
    RunSummary,
    StepLogged,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _step(i: int) -> StepLogged:
    return StepLogged(step=i, epoch=0, wall_time=i * 1e-4, values={"train/loss": 1.0 / i})


def test_batching_reporter_coalesces_fast_steps():
    batches: list[list] = []
    clock = FakeClock()
    rep = BatchingReporter(batches.append, interval_s=0.1, clock=clock)
    rep.emit(RunStarted(total_steps=1000, steps_per_epoch=1000, epochs=1, wall_time=0.0))
    assert len(batches) == 1  # the start is passed on at once
    for i in range(1, 1001):
        clock.t = i * 1e-3  # 1 ms per step -> one batch per 100 steps
        rep.emit(_step(i))
    rep.emit(RunFinished(RunSummary(status="completed", steps=1000, epochs=1, duration_s=1.0)))
    steps = [e.step for b in batches for e in b if isinstance(e, StepLogged)]
    assert steps == list(range(1, 1001))  # nothing lost, order kept
    assert 9 <= len(batches) <= 12  # ~10 batches, not 1000
    assert isinstance(batches[-1][-1], RunFinished)


def test_batching_reporter_caps_batch_size_and_flushes_epochs():
    batches: list[list] = []
    rep = BatchingReporter(batches.append, interval_s=1e9, max_batch=50, clock=FakeClock())
    for i in range(1, 121):
        rep.emit(_step(i))
    assert [len(b) for b in batches] == [50, 50]
    rep.emit(EpochLogged(epoch=0, step=120, wall_time=0.1, values={"val/loss": 0.5}))
    rep.flush()
    assert len(batches[-1]) == 21


def test_stop_flag_comes_from_another_thread():
    stop = threading.Event()
    rep = BatchingReporter(lambda b: None, stop)
    assert not rep.should_stop()
    threading.Thread(target=stop.set).start()
    stop.wait(5)
    assert rep.should_stop()


def test_list_reporter_stops_after_n_steps_and_collects_series():
    rep = ListReporter(stop_after_steps=3)
    for i in range(1, 4):
        assert not rep.should_stop()
        rep.emit(_step(i))
    assert rep.should_stop() and rep.last_step == 3
    assert rep.series("train/loss") == [1.0, 0.5, 1 / 3]
