"""Value linking on the demo database: the question's words and dates tied to the columns and stored values
that hold them, as the prompt then shows them beside the question."""

from __future__ import annotations

from service.values import link_values


def test_a_state_word_is_linked_to_the_column_and_value_that_hold_it(demo_runtime) -> None:
    catalog = demo_runtime.catalog("demo")
    hints = link_values("How many NR cells are locked?", catalog, ["nrcelldu", "gnbdufunction"],
                        lambda t, c: demo_runtime.sample_value("demo", t, c))
    # gnbdufunction's administrativestate holds no LOCKED row: only where the value is stored
    assert hints == ["\"locked\": administrativestate = 'LOCKED' (in nrcelldu)"]


def test_a_date_is_tied_to_how_the_timestamps_are_stored(demo_runtime) -> None:
    catalog = demo_runtime.catalog("demo")
    hints = link_values("What is the RRC setup success rate per NR cell on 2024-05-13?", catalog, ["pmnrcelldu"],
                        lambda t, c: demo_runtime.sample_value("demo", t, c))
    assert hints == ["'2024-05-13': pmnrcelldu.ropstarttime holds timestamps like '2024-05-13 00:00:00': for that "
                     "day use ropstarttime >= '2024-05-13' AND ropstarttime < '2024-05-14'"]


def test_no_hint_without_a_mentioned_value(demo_runtime) -> None:
    catalog = demo_runtime.catalog("demo")
    assert link_values("How many subnetworks are there?", catalog, list(catalog.tables), lambda t, c: None) == []
