"""RunsPanel / RunsTableModel against a real temporary store."""

from __future__ import annotations

import pytest
from _fixtures_data import add_run
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.gui.dialogs import errors
from lrstudio.gui.runs import COLUMN_INDEX, STATUS_COLORS, RunsPanel
from lrstudio.gui.runs import panel as runs_table

pytestmark = pytest.mark.gui


@pytest.fixture
def filled(store):
    ids = {
        "small": add_run(store, RunConfig(lr=0.001), "small-lr", steps=9),
        "big": add_run(store, RunConfig(lr=0.1, optimizer={"name": "adam", "params": {}}), "big-lr adam",
                       steps=100, status="stopped"),
        "mid": add_run(store, RunConfig(lr=0.02, schedule={"name": "cosine", "params": {}}), "mid cosine",
                       steps=20),
    }
    return store, ids


@pytest.fixture
def panel(qtbot, filled):
    store, _ = filled
    p = RunsPanel(store)
    qtbot.addWidget(p)
    p.resize(1000, 300)
    return p


def _column(panel, key):
    """Texts of a column in view order."""
    col = COLUMN_INDEX[key]
    return [panel.proxy.index(r, col).data() for r in range(panel.proxy.rowCount())]


def _select(panel, ids):
    panel.select_runs(ids)
    assert panel.selected_run_ids() == [i for i in panel.selected_run_ids() if i in ids]


def test_runs_in_database_appear_on_start(panel, filled):
    _, ids = filled
    assert panel.model.rowCount() == 3
    assert sorted(_column(panel, "name")) == ["big-lr adam", "mid cosine", "small-lr"]
    assert panel.count_label.text() == "3 runs"
    row = panel.model.row_of(ids["big"])
    index = panel.model.index(row, COLUMN_INDEX["status"])
    assert index.data() == "stopped"
    assert index.data(Qt.ItemDataRole.BackgroundRole) == QColor(STATUS_COLORS["stopped"][0])
    assert index.data(Qt.ItemDataRole.ForegroundRole) == QColor(STATUS_COLORS["stopped"][1])
    assert panel.model.index(row, COLUMN_INDEX["optimizer"]).data() == "adam"
    assert panel.model.index(row, COLUMN_INDEX["steps"]).data() == "100"


def test_numeric_columns_sort_by_value_not_text(panel):
    panel.view.sortByColumn(COLUMN_INDEX["steps"], Qt.SortOrder.AscendingOrder)
    assert _column(panel, "steps") == ["9", "20", "100"]  # as text "100" < "20" < "9"
    panel.view.sortByColumn(COLUMN_INDEX["base_lr"], Qt.SortOrder.DescendingOrder)
    assert _column(panel, "base_lr") == ["0.1", "0.02", "0.001"]
    panel.view.sortByColumn(COLUMN_INDEX["final_loss"], Qt.SortOrder.AscendingOrder)
    values = [float(t) for t in _column(panel, "final_loss")]
    assert values == sorted(values)


def test_filter_matches_name_tags_model_optimizer_schedule_status(panel, filled, qtbot):
    store, ids = filled
    store.set_tags(ids["small"], ["baseline"])
    panel.refresh()
    qtbot.keyClicks(panel.filter_edit, "adam")
    assert _column(panel, "name") == ["big-lr adam"]
    for text, expected in (("cosine", ["mid cosine"]), ("baseline", ["small-lr"]), ("STOPPED", ["big-lr adam"]),
                           ("linear sgd", ["mid cosine", "small-lr"]), ("nothing-like-this", [])):
        panel.filter_edit.setText(text)
        assert sorted(_column(panel, "name")) == expected, text
    assert panel.count_label.text() == "0 of 3 runs"
    panel.filter_edit.clear()
    assert panel.proxy.rowCount() == 3


def test_multi_select_emits_run_ids(panel, filled, qtbot):
    _, ids = filled
    with qtbot.waitSignal(panel.selection_changed) as blocker:
        panel.select_runs([ids["small"], ids["mid"]])
    assert sorted(blocker.args[0]) == sorted([ids["small"], ids["mid"]])


def test_rename_through_inline_edit(panel, filled, qtbot):
    store, ids = filled
    row = panel.model.row_of(ids["mid"])
    proxy_index = panel.proxy.mapFromSource(panel.model.index(row, COLUMN_INDEX["name"]))
    assert panel.proxy.flags(proxy_index) & Qt.ItemFlag.ItemIsEditable
    # What the view's editor does when the user types a new name and presses Enter.
    assert panel.proxy.setData(proxy_index, "  renamed run ", Qt.ItemDataRole.EditRole)
    assert store.get_run(ids["mid"]).name == "renamed run"
    assert panel.model.index(row, COLUMN_INDEX["name"]).data() == "renamed run"


def test_rename_error_is_a_message_not_a_crash(panel, filled, monkeypatch):
    store, ids = filled
    shown = []
    monkeypatch.setattr(errors, "show_error", lambda parent, exc, title="lrstudio", context="": shown.append(str(exc)))
    row = panel.model.row_of(ids["mid"])
    panel.model.setData(panel.model.index(row, COLUMN_INDEX["name"]), "x" * 300)
    assert shown and "200 characters" in shown[0]
    assert store.get_run(ids["mid"]).name == "mid cosine"


def test_tags_and_notes_through_the_buttons(panel, filled, monkeypatch, qtbot):
    store, ids = filled
    answers = iter(["lr-sweep, baseline, lr-sweep", "tried a larger LR\nit diverged"])
    monkeypatch.setattr(runs_table, "ask_text", lambda *a, **k: next(answers))
    panel.select_runs([ids["small"], ids["big"]])
    qtbot.mouseClick(panel.buttons["tags"], Qt.MouseButton.LeftButton)
    assert set(store.get_run(ids["small"]).tags) == {"lr-sweep", "baseline"}
    assert set(store.get_run(ids["big"]).tags) == {"lr-sweep", "baseline"}
    assert "baseline" in panel.model.index(panel.model.row_of(ids["big"]), COLUMN_INDEX["tags"]).data()
    panel.select_runs([ids["big"]])
    qtbot.mouseClick(panel.buttons["notes"], Qt.MouseButton.LeftButton)
    assert store.get_run(ids["big"]).notes == "tried a larger LR\nit diverged"
    tooltip = panel.model.index(panel.model.row_of(ids["big"]), COLUMN_INDEX["name"]).data(
        Qt.ItemDataRole.ToolTipRole)
    assert "it diverged" in tooltip


def test_cancelled_dialog_changes_nothing(panel, filled, monkeypatch, qtbot):
    store, ids = filled
    monkeypatch.setattr(runs_table, "ask_text", lambda *a, **k: None)
    panel.select_runs([ids["small"]])
    qtbot.mouseClick(panel.buttons["tags"], Qt.MouseButton.LeftButton)
    assert store.get_run(ids["small"]).tags == ()


def test_delete_asks_and_removes(panel, filled, monkeypatch, qtbot):
    store, ids = filled
    questions = []
    monkeypatch.setattr(runs_table, "confirm", lambda parent, title, text: questions.append(text) or False)
    panel.select_runs([ids["small"], ids["big"]])
    qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert len(questions) == 1 and "2 runs" in questions[0]
    assert len(store.list_runs()) == 3  # declined: nothing deleted

    monkeypatch.setattr(runs_table, "confirm", lambda parent, title, text: True)
    with qtbot.waitSignal(panel.runs_deleted) as blocker:
        qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert sorted(blocker.args[0]) == sorted([ids["small"], ids["big"]])
    assert [r.id for r in store.list_runs()] == [ids["mid"]]
    assert _column(panel, "name") == ["mid cosine"]
    assert panel.selected_run_ids() == []


def test_duplicate_emits_the_run_config(panel, filled, qtbot):
    _, ids = filled
    panel.select_runs([ids["mid"]])
    with qtbot.waitSignal(panel.duplicate_requested) as blocker:
        qtbot.mouseClick(panel.buttons["duplicate"], Qt.MouseButton.LeftButton)
    config = blocker.args[0]
    assert isinstance(config, RunConfig)
    assert config.lr == 0.02 and config.schedule["name"] == "cosine"


def test_refresh_run_updates_one_row_without_reset(panel, store, qtbot):
    run_id = store.create_run(RunConfig(model="cnn", dataset=DatasetConfig(name="digits"), lr=0.05),
                              name="live")
    panel.refresh_run(run_id)  # a new run appears at once
    assert panel.model.row_of(run_id) >= 0
    assert panel.model.rowCount() == 4
    row = panel.model.row_of(run_id)
    assert panel.model.index(row, COLUMN_INDEX["status"]).data() == "running"
    panel.select_runs([run_id])

    store.rename_run(run_id, "live, renamed")
    resets, changed = [], []
    panel.model.modelReset.connect(lambda: resets.append(1))
    panel.model.dataChanged.connect(lambda a, b, *r: changed.append((a.row(), b.row())))
    panel.refresh_run(run_id)
    assert resets == [] and changed == [(row, row)]
    assert panel.model.index(row, COLUMN_INDEX["name"]).data() == "live, renamed"
    assert panel.selected_run_ids() == [run_id]  # the selection survives live updates


def test_refresh_keeps_selection_and_open_folder(panel, filled, tmp_path, monkeypatch):
    _, ids = filled
    panel.select_runs([ids["big"]])
    panel.refresh()
    assert panel.selected_run_ids() == [ids["big"]]
    assert runs_table.database_folder(panel.store()) == tmp_path.resolve()
    opened = []
    monkeypatch.setattr(runs_table.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    panel.open_database_folder()
    assert opened == [str(tmp_path.resolve())]


def test_empty_store_and_set_store(qtbot, tmp_path, filled):
    p = RunsPanel(None)
    qtbot.addWidget(p)
    assert p.model.rowCount() == 0 and not p.action_delete.isEnabled()
    assert p.count_label.text() == "0 runs"
    p.set_store(filled[0])
    assert p.model.rowCount() == 3


def _has_control_chars(text: str) -> bool:
    import unicodedata

    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") or 0x202A <= ord(ch) <= 0x202E
               or 0x2066 <= ord(ch) <= 0x2069 for ch in text)


def test_names_with_escape_codes_and_control_characters_render_harmlessly(panel, store, monkeypatch, qtbot):
    hostile = "\x1b[31mred\x1b[0m\nsecond line\tand\u202eevil\x07"
    run_id = store.create_run(RunConfig(lr=0.01), name=hostile, status="completed")
    panel.refresh()
    row = panel.model.row_of(run_id)
    index = panel.model.index(row, COLUMN_INDEX["name"])
    shown = index.data()
    assert not _has_control_chars(shown)
    assert shown == "\\x1b[31mred\\x1b[0m\\nsecond line\\tand\\u202eevil\\x07"  # visible, like Python repr
    assert not _has_control_chars(index.data(Qt.ItemDataRole.ToolTipRole))
    assert not _has_control_chars(index.data(Qt.ItemDataRole.EditRole))
    # Opening the editor and accepting it unchanged does not rename the run to its escaped form.
    assert not panel.model.setData(index, shown)
    assert store.get_run(run_id).name == hostile
    # The delete question quotes the name escaped, too.
    asked = []
    monkeypatch.setattr(runs_table, "confirm", lambda parent, title, text: asked.append(text) or False)
    panel.select_runs([run_id])
    panel.delete_selected()
    assert asked and not _has_control_chars(asked[0].replace("\n", " "))


def test_count_label_says_one_run(qtbot, store):
    store.create_run(RunConfig(lr=0.01), name="only", status="completed")
    p = RunsPanel(store)
    qtbot.addWidget(p)
    assert p.count_label.text() == "1 run"
    p.filter_edit.setText("nothing matches this")
    assert p.count_label.text() == "0 of 1 run"


def test_status_column_has_room_for_a_later_divergence(qtbot, store):
    store.create_run(RunConfig(lr=0.01), name="only", status="completed")
    p = RunsPanel(store)
    qtbot.addWidget(p)
    width = p.view.horizontalHeader().sectionSize(COLUMN_INDEX["status"])
    assert width >= p.view.fontMetrics().horizontalAdvance("diverged @ 99999")


def test_kind_column_and_duplicating_a_run_of_another_kind(qtbot, store, monkeypatch):
    """Revision 0004: the Kind column names what made each run; copying the config of a run that
    has no lrstudio training config (your own code) is a message, not a traceback."""
    from lrstudio.core.events import StepLogged

    train = add_run(store, RunConfig(lr=0.01), "plain", steps=3)
    rt = store.create_run(RunConfig(lr=0.01), name="range", kind="lr_range_test")
    ext = store.create_run({"lr": 0.1, "model": "mine"}, name="my loop", kind="external")
    with store.recorder(ext) as rec:
        rec.handle([StepLogged(1, 0, 0.0, {"train/loss": 1.0})])
        rec.close(status="pruned")
    p = RunsPanel(store)
    qtbot.addWidget(p)
    kinds = {p.model.run_at(p.model.row_of(i)).id: p.model.index(p.model.row_of(i), COLUMN_INDEX["kind"]).data()
             for i in (train, rt, ext)}
    assert kinds == {train: "Training", rt: "LR range test", ext: "Your code"}
    row = p.model.row_of(ext)
    assert p.model.index(row, COLUMN_INDEX["status"]).data(Qt.ItemDataRole.BackgroundRole) == \
        QColor(STATUS_COLORS["pruned"][0])
    shown = []
    monkeypatch.setattr(errors, "show_error", lambda parent, exc, title="": shown.append((title, str(exc))))
    emitted = []
    p.duplicate_requested.connect(emitted.append)
    p.select_runs([ext])
    p.duplicate_current()
    assert emitted == [] and shown and "external run" in shown[0][1] and "cannot be loaded into the form" in shown[0][1]


def test_playground_runs_show_the_function_s_title_and_their_schedule(qtbot, store):
    """A playground run's Data set column showed the internal function id (quad_ill) and its
    Schedule column was empty: the function's title and the schedule's name (or "constant")."""
    from lrstudio.core.playground import FUNCTIONS, TrajectorySpec, playground_config

    plain = store.create_run(playground_config(FUNCTIONS["quad_ill"], TrajectorySpec(optimizer="sgd", lr=0.1, start=(-5.0, -2.0),
                                                                                 steps=10)),
                             name="pg plain", kind="playground")
    cos = store.create_run(playground_config(FUNCTIONS["rosenbrock"], TrajectorySpec(
        optimizer="sgd", lr=0.1, start=(-1.5, 2.0), steps=10, schedule={"name": "cosine", "params": {}})),
        name="pg cos", kind="playground")
    p = RunsPanel(store)
    qtbot.addWidget(p)

    def cell(rid, key):
        return p.model.index(p.model.row_of(rid), COLUMN_INDEX[key]).data()

    assert cell(plain, "dataset") == FUNCTIONS["quad_ill"].title
    assert cell(cos, "dataset") == "Rosenbrock"
    assert cell(plain, "schedule") == "constant"
    assert cell(cos, "schedule") == "cosine"
