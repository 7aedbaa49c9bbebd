"""`monitor demo` end to end on a small world: the planted incidents fire on their
days, clean features never alert, and re-running is idempotent."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta

import duckdb
import pytest
import yaml
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score
from typer.testing import CliRunner

from monitor.alerts.persistence import AlertStore
from monitor.cli import app
from monitor.config import load_config
from monitor.demo import incidents_for, period
from monitor.store import StateStore
from monitor.timeline import episodes
from monitor.warehouse import connect
from tests.conftest import DEMO_DAYS as DAYS
from tests.conftest import read_db


def day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def shadow_incident_days() -> set[datetime]:
    first, last = incidents_for(DAYS).shadow_country
    return {day(first) + timedelta(days=i) for i in range((last - first).days + 1)}


@pytest.mark.slow
def test_demo_prints_a_timeline_with_the_incidents(demo_run) -> None:
    result, _, _, _ = demo_run
    assert result.exit_code == 0, result.output
    inc = incidents_for(DAYS)
    assert "Alert timeline" in result.output
    assert f"{inc.pipeline_break[0]}" in result.output


@pytest.mark.slow
def test_pipeline_break_alerts_on_its_days_only(demo_run) -> None:
    _, rows, _, _ = demo_run
    inc = incidents_for(DAYS)
    broken_days = {day(inc.pipeline_break[0]), day(inc.pipeline_break[1])}
    amount = {
        (r[1], r[4])
        for r in rows
        if r[0] == "fraud-feature-drift" and r[2] == "amount" and r[5] == "alert"
    }
    assert {("device=android", d) for d in broken_days} <= amount
    assert {d for _, d in amount} == broken_days  # nothing before, nothing after (no echo)
    assert all(seg in ("all", "device=android") for seg, _ in amount)


@pytest.mark.slow
def test_null_spike_and_shadow_country_fire(demo_run) -> None:
    _, rows, _, _ = demo_run
    inc = incidents_for(DAYS)
    assert (
        "fraud-feature-drift",
        "all",
        "account_age_days",
        "null_rate",
        day(inc.null_spike),
        "alert",
    ) in rows
    shadow = {(r[1], r[4]) for r in rows if r[0] == "fraud-shadow-score-drift" and r[5] == "alert"}
    assert shadow == {(f"country={inc.country}", d) for d in shadow_incident_days()}


@pytest.mark.slow
def test_clean_features_never_alert(demo_run) -> None:
    _, rows, _, _ = demo_run
    inc = incidents_for(DAYS)
    assert not [r for r in rows if r[2] in ("tx_count_24h", "tx_count_7d", "distance_km")]
    assert not [r for r in rows if r[0] == "fraud-category-drift"]
    age = {r[4] for r in rows if r[2] == "account_age_days"}
    assert age == {day(inc.null_spike)}


@pytest.mark.slow
def test_a_wrong_join_only_the_feature_relations_see(demo_run) -> None:
    """tx_count_7d joined to the wrong requests for two days: each column's own
    distribution is unchanged, so no univariate monitor breaches on those days, while
    the multivariate one alerts on both (and on the pipeline break, whose cents change
    amount's relation to the rest; nowhere else)."""
    _, rows, _, _ = demo_run
    inc = incidents_for(DAYS)
    joined = {day(inc.feature_join[0]), day(inc.feature_join[1])}
    broken = {day(inc.pipeline_break[0]), day(inc.pipeline_break[1])}
    relations = {r[4] for r in rows if r[0] == "fraud-feature-relations" and r[5] == "alert"}
    assert joined <= relations <= joined | broken
    univariate = ("fraud-feature-drift", "fraud-feature-nulls", "fraud-category-drift")
    assert not [r for r in rows if r[0] in univariate and r[4] in joined]


@pytest.mark.slow
def test_backfill_again_is_idempotent(demo_run) -> None:
    _, rows, counts, config = demo_run
    inc = incidents_for(DAYS)
    again = CliRunner().invoke(
        app,
        [
            "backfill",
            "--config",
            str(config),
            "--from",
            str(inc.null_spike),
            "--to",
            str(inc.pipeline_break[1]),
            "--no-build",
        ],
    )
    assert again.exit_code == 0, again.output
    doc = yaml.safe_load(config.read_text())
    con = duckdb.connect(doc["warehouse"]["path"], read_only=True)
    assert con.execute("SELECT count(*) FROM monitor.metrics").fetchone() == counts
    after = con.execute(
        "SELECT monitor, segment, feature, metric, window_start, status FROM monitor.metrics WHERE status IN ('warn', 'alert')"
    ).fetchall()
    con.close()
    assert sorted(after) == sorted(rows)


@pytest.mark.slow
def test_quality_monitors_catch_the_null_spike_and_stay_quiet_otherwise(demo_run) -> None:
    _, rows, _, _ = demo_run
    inc = incidents_for(DAYS)
    nulls = {(r[2], r[4], r[5]) for r in rows if r[0] == "fraud-feature-nulls"}
    assert nulls == {("account_age_days", day(inc.null_spike), "alert")}
    assert not [r for r in rows if r[0] == "fraud-freshness"]
    # Traffic breaches only where the flapping incident was planted.
    first, last = inc.flapping
    traffic = {(r[1], r[3], r[5]) for r in rows if r[0] == "fraud-traffic"}
    assert traffic == {(f"country={inc.flapping_country}", "row_count_ratio", "warn")}
    assert all(day(first) <= r[4] <= day(last) for r in rows if r[0] == "fraud-traffic")


@pytest.mark.slow
def test_a_flapping_metric_is_one_episode_not_a_stream(demo_run) -> None:
    """GB's volume hovers around the warn level for six days: the raw rows breach on
    alternate days, but hysteresis (`clear`) and `keep_firing_for` make it one alert,
    announced once, reminded in its thread, resolved once."""
    result, rows, _, config = demo_run
    inc = incidents_for(DAYS)
    breached = sorted(r[4] for r in rows if r[0] == "fraud-traffic")
    assert len(breached) >= 3
    gaps = [(b - a).days for a, b in itertools.pairwise(breached)]
    assert max(gaps) >= 2, "the raw breaches flap (not one consecutive run)"
    events = demo_metrics(
        config,
        "SELECT e.episode, e.from_state, e.to_state, e.action FROM monitor.alert_events AS e "
        "JOIN monitor.alerts AS a USING (fingerprint) WHERE a.monitor = 'fraud-traffic' "
        f"AND a.segment = 'country={inc.flapping_country}' ORDER BY e.run_at",
    )
    assert {e[0] for e in events} == {1}  # one episode
    actions = [e[3] for e in events]
    assert actions.count("announce") == 1 and actions.count("resolve") == 1
    assert actions[0] == "announce" and actions[-1] == "resolve"
    assert ("firing", "recovering", "none") in [e[1:] for e in events]
    timeline = [
        line for line in result.output.splitlines() if "fraud-traffic" in line and "│" in line
    ]
    assert len(timeline) == 1 and "resolved" in timeline[0]


@pytest.mark.slow
def test_the_demo_sends_alerts_to_the_console_grouped_per_monitor(demo_run) -> None:
    result, _, _, config = demo_run
    inc = incidents_for(DAYS)
    out = result.output
    # The null spike: one page for the drift monitor listing its 8 breaching items.
    assert out.count("[page] ALERT fraud-feature-drift: 8 breaching") == 1
    assert "+1 more" not in out.split("[page] ALERT fraud-feature-drift: 8 breaching")[1][:2000]
    assert "RESOLVED fraud-feature-drift" in out
    sent, pending = demo_metrics(
        config,
        "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status <> 'sent') "
        "FROM monitor.outbox",
    )[0]
    assert sent > 0 and pending == 0
    posts = demo_metrics(
        config,
        "SELECT count(*) FROM monitor.outbox WHERE action = 'post' AND message_key LIKE "
        f"'fraud-feature-drift@{inc.null_spike + timedelta(days=1)}%'",
    )
    assert posts == [(1,)]


def demo_metrics(config, sql: str) -> list[tuple]:
    return read_db(yaml.safe_load(config.read_text())["warehouse"]["path"], sql)


@pytest.mark.slow
def test_shadow_blocking_one_country_is_that_countrys_slice_while_its_aggregate_is_better(
    demo_run,
) -> None:
    """The issue's incident: v2 blocks PT. The guardrail names PT with its numbers on
    each incident day; the aggregate block rate stays under tolerance; and over the
    week of the incident v2's aggregate AUC beats v1's on the same requests."""
    _, _, _, config = demo_run
    inc = incidents_for(DAYS)
    first, last = inc.shadow_country
    incident_days = shadow_incident_days()
    pt = demo_metrics(
        config,
        "SELECT window_start, value, baseline_value, sample_size, q_value, status "
        "FROM monitor.metrics WHERE monitor = 'fraud-shadow-guardrails' "
        "AND segment = 'country=PT' AND status = 'alert'",
    )
    assert {r[0] for r in pt} == incident_days
    for _, value, baseline, n, q, _ in pt:
        assert value > 0.95 and baseline < 0.1 and n >= 200 and q < 1e-20
    aggregate = demo_metrics(
        config,
        "SELECT value - baseline_value, status FROM monitor.metrics "
        "WHERE monitor = 'fraud-shadow-guardrails' AND segment = 'all' AND window_start >= "
        f"TIMESTAMP '{day(first)}'",
    )
    assert len(aggregate) == len(incident_days)
    assert all(0.03 < delta < 0.1 and status == "ok" for delta, status in aggregate)

    week = demo_metrics(
        config,
        "SELECT segment, value, baseline_value, status FROM monitor.metrics "
        "WHERE monitor = 'fraud-shadow-performance' AND metric = 'auc' "
        f"AND window_start = TIMESTAMP '{day(last) - timedelta(days=6)}'",
    )
    by_segment = {r[0]: r[1:] for r in week}
    v2_auc, v1_auc, status = by_segment["all"]
    assert v2_auc > v1_auc and status == "ok"
    assert by_segment["country=PT"][2] == "alert"
    assert by_segment["country=PT"][0] < by_segment["country=PT"][1] - 0.2


@pytest.mark.slow
def test_no_clean_slice_fires_over_the_demo_period(demo_run) -> None:
    _, rows, _, _ = demo_run
    guardrails = ("fraud-guardrails", "fraud-shadow-guardrails", "fraud-shadow-performance")
    assert {r[1] for r in rows if r[0] in guardrails} == {"country=PT"}
    assert not [r for r in rows if r[0] == "fraud-guardrails"]
    # Measured performance fires only on the weeks that hold the blind model's days,
    # its runs two weeks after them (lag = label_maturity).
    first, last = incidents_for(DAYS).blind_model
    late = {r[4] for r in rows if r[0] == "fraud-performance"}
    assert all(day(first) - timedelta(days=6) <= start <= day(last) for start in late), late


@pytest.mark.slow
def test_the_estimate_sees_the_blind_model_before_any_label(demo_run) -> None:
    """BLIND_MODEL: v1 reads stale inputs for two days, at its usual block rate. Its
    estimated AUC alerts on exactly those days, overall and on every device, in runs
    whose windows have no mature label yet; the labels that arrive later confirm the
    drop (scikit-learn over the day's labelled predictions)."""
    _, rows, _, config = demo_run
    first, last = incidents_for(DAYS).blind_model
    blind = {day(first), day(last)}
    fired = {(r[1], r[4]) for r in rows if r[0] == "fraud-estimated-performance"}
    segments = {"all", "device=android", "device=ios", "device=web"}
    assert fired == {(s, d) for s in segments for d in blind}
    path = yaml.safe_load(config.read_text())["warehouse"]["path"]
    con = duckdb.connect(path, read_only=True)
    for d in blind:
        (reason,) = con.execute(
            "SELECT reason FROM monitor.metrics WHERE monitor = 'fraud-estimated-performance' "
            "AND metric = 'realized_auc' AND segment = 'all' AND window_start = ?",
            [d],
        ).fetchone()
        assert "matured" in reason  # the estimate is all there was
        score, label = (
            con.execute(
                "SELECT score, label FROM prediction_outcomes WHERE role = 'production' "
                "AND ts >= ? AND ts < ? + INTERVAL 1 DAY AND label IN (0, 1)",
                [d, d],
            )
            .fetchnumpy()
            .values()
        )
        (estimate, baseline) = con.execute(
            "SELECT value, baseline_value FROM monitor.metrics WHERE metric = 'estimated_auc' "
            "AND monitor = 'fraud-estimated-performance' AND segment = 'all' AND window_start = ?",
            [d],
        ).fetchone()
        realized = roc_auc_score(label.astype(int), score)
        assert realized < baseline - 0.05 and estimate < baseline - 0.05, (realized, estimate)
    con.close()


@pytest.mark.slow
def test_estimated_performance_finds_the_realized_values_in_its_band(demo_run) -> None:
    """Every clean day's estimate of v1's AUC, accuracy, precision and recall, made
    without a label, against the value its labels give now (scikit-learn over the day's
    labelled predictions): within the 3-standard-error band nearly always. Left out:
    the first window with a map (it rests on one day of mature baseline) and the blind
    model's days (its scores no longer mean what the map says: the next test)."""
    _, _, _, config = demo_run
    path = yaml.safe_load(config.read_text())["warehouse"]["path"]
    con = duckdb.connect(path, read_only=True)
    estimates = con.execute(
        "SELECT window_start, segment, metric, detail FROM monitor.metrics "
        "WHERE monitor = 'fraud-estimated-performance' AND metric LIKE 'estimated_%' "
        "AND value IS NOT NULL ORDER BY window_start"
    ).fetchall()
    first = estimates[0][0]
    blind = incidents_for(DAYS).blind_model
    clean = [e for e in estimates if e[0] > first and not blind[0] <= e[0].date() <= blind[1]]
    inside = []
    for start, segment, metric, detail in clean:
        device = "" if segment == "all" else f" AND device = '{segment.split('=')[1]}'"
        score, label = (
            con.execute(
                "SELECT score, label FROM prediction_outcomes WHERE model_name = 'fraud' "
                "AND role = 'production' AND ts >= ? AND ts < ? + INTERVAL 1 DAY "
                f"AND label IN (0, 1) AND isfinite(score){device}",
                [start, start],
            )
            .fetchnumpy()
            .values()
        )
        y, flagged = label.astype(int), (score >= 0.5).astype(int)
        realized = {
            "estimated_auc": lambda: roc_auc_score(y, score),  # noqa: B023
            "estimated_accuracy": lambda: accuracy_score(y, flagged),  # noqa: B023
            "estimated_precision": lambda: precision_score(y, flagged),  # noqa: B023
            "estimated_recall": lambda: recall_score(y, flagged),  # noqa: B023
        }[metric]()
        band = json.loads(detail)
        inside.append(band["lower"] <= realized <= band["upper"])
    # The windows whose labels matured within the demo were run again (rerun_when_mature):
    # their realized values stand beside the estimates, in the same band.
    stored = con.execute(
        "SELECT e.detail, r.value FROM monitor.metrics AS e JOIN monitor.metrics AS r "
        "ON r.monitor = e.monitor AND r.window_start = e.window_start "
        "AND r.segment = e.segment AND r.metric = replace(e.metric, 'estimated_', 'realized_') "
        "WHERE e.monitor = 'fraud-estimated-performance' AND e.metric LIKE 'estimated_%' "
        "AND e.value IS NOT NULL AND r.value IS NOT NULL"
    ).fetchall()
    con.close()
    assert len(inside) >= 100 and sum(inside) >= 0.95 * len(inside), (sum(inside), len(inside))
    matured = [json.loads(d)["lower"] <= v <= json.loads(d)["upper"] for d, v in stored]
    assert len(matured) >= 30 and sum(matured) >= 0.95 * len(matured), matured


@pytest.mark.slow
def test_shadow_disagreement_names_the_country_while_the_aggregate_agrees(demo_run) -> None:
    _, rows, _, config = demo_run
    incident_days = shadow_incident_days()
    fired = {(r[1], r[3], r[4]) for r in rows if r[0] == "fraud-shadow-disagreement"}
    assert fired == {("country=PT", "disagreement_rate", d) for d in incident_days}
    aggregate = demo_metrics(
        config,
        "SELECT status FROM monitor.metrics WHERE monitor = 'fraud-shadow-disagreement' "
        "AND segment = 'all' AND metric = 'disagreement_rate' AND window_start >= "
        f"TIMESTAMP '{min(incident_days)}'",
    )
    assert aggregate and all(status == "ok" for (status,) in aggregate)


@pytest.mark.slow
def test_comovement_says_the_shadow_moved_alone_for_the_country(demo_run) -> None:
    """Outside the blind model's days only PT's ks_gap fires, on the shadow incident's
    days: v2's PT scores moved (its KS against its own baseline is near 1) while v1's,
    on the same requests, did not. On the blind model's days v1's scores moved alone:
    the gaps that fire there are negative, except PT's (v2's move is larger still)."""
    _, rows, _, config = demo_run
    incident_days = shadow_incident_days()
    first, last = incidents_for(DAYS).blind_model
    blind = {day(first), day(last)}
    fired = {(r[1], r[3], r[4]) for r in rows if r[0] == "fraud-shadow-comovement"}
    assert {f for f in fired if f[2] not in blind} == {
        ("country=PT", "ks_gap", d) for d in incident_days - blind
    }
    assert {("all", "ks_gap", d) for d in blind} <= fired
    gaps = demo_metrics(
        config,
        "SELECT segment, value FROM monitor.metrics WHERE monitor = 'fraud-shadow-comovement' "
        "AND metric = 'ks_gap' AND status IN ('warn', 'alert') "
        f"AND window_start >= TIMESTAMP '{min(blind)}'",
    )
    assert all((value > 0) == (segment == "country=PT") for segment, value in gaps), gaps
    pt = demo_metrics(
        config,
        "SELECT feature, min(value), max(value) FROM monitor.metrics "
        "WHERE monitor = 'fraud-shadow-comovement' AND segment = 'country=PT' AND metric = 'ks' "
        f"AND window_start >= TIMESTAMP '{min(incident_days)}' "
        f"AND window_start < TIMESTAMP '{min(blind)}' GROUP BY feature",
    )
    ks = {feature: (low, high) for feature, low, high in pt}
    assert ks["shadow"][0] > 0.8 and ks["production"][1] < 0.2


@pytest.mark.slow
def test_compare_names_the_country_as_the_reason_not_to_promote(demo_run) -> None:
    """The day after the incident: v2 is better overall on matured labels, but it would
    flag nearly all of PT, so the verdict is reject, for PT's positive_rate only."""
    _, _, _, config = demo_run
    at = day(incidents_for(DAYS).shadow_country[1]) + timedelta(days=1)
    out = CliRunner().invoke(
        app,
        [
            "compare",
            "--model",
            "fraud",
            "--config",
            str(config),
            "--at",
            f"{at:%Y-%m-%d}",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["verdict"] == "reject"
    assert len(doc["reasons"]) == 1 and doc["reasons"][0].startswith("country=PT positive_rate: ")
    pt = doc["segments"]["country=PT"]["positive_rate"]
    assert pt["value"] > 0.8 and pt["production"] < 0.1 and pt["q_value"] < 1e-20
    overall = doc["overall"]
    assert overall["auc"]["value"] > overall["auc"]["production"]  # v2 is the sharper model
    assert overall["win_rate"]["value"] > 0.5 and overall["win_rate"]["q_value"] < 0.01
    assert doc["segments"]["country=PT"]["disagreement_rate"]["value"] > 0.5


def backtest_json(config, monitor: str, *sets: str) -> dict:
    first, last = period(DAYS)
    args = ["backtest", "--config", str(config), "--monitor", monitor, "--json"]
    args += ["--from", str(first), "--to", str(last)]
    for s in sets:
        args += ["--set", s]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, (done.output, done.exception)
    return json.loads(done.output)


@pytest.mark.slow
def test_backtest_reproduces_the_timeline_and_a_stricter_threshold_fires_less(demo_run) -> None:
    _, _, _, config = demo_run
    cfg = load_config(config)
    with connect(cfg.warehouse, read_only=True) as wh:
        timeline = episodes(AlertStore(StateStore(wh, cfg.state.schema_, create=False)))

    def key(e: dict) -> tuple:
        return (e["monitor"], e["segment"], e["feature"], e["metric"], e["start"][:19],
                e["end"][:19], round(e["peak_value"], 12))  # fmt: skip

    expected = sorted(
        key({**vars(e), "start": e.start.isoformat(), "end": e.end.isoformat()}) for e in timeline
    )
    replayed = sorted(
        key(e) for m in cfg.monitors for e in backtest_json(config, m.name)["episodes"]
    )
    assert len(expected) >= 10
    assert replayed == expected

    # Stricter: a warn level just below GB's flapping volume's lowest ratio: no episode.
    traffic = backtest_json(config, "fraud-traffic")["episodes"]
    assert [e["segment"] for e in traffic] == [f"country={incidents_for(DAYS).flapping_country}"]
    lowest = traffic[0]["peak_value"]
    stricter = backtest_json(config, "fraud-traffic", f"rules.0.warn={lowest - 0.01:.6f}")
    assert stricter["episodes"] == []
    # Stricter PSI levels: only the episodes that peaked above them remain.
    drift = backtest_json(config, "fraud-feature-drift")["episodes"]
    peaks = sorted(e["peak_value"] for e in drift if e["metric"] == "psi")
    level = peaks[len(peaks) // 2]
    strict = backtest_json(
        config, "fraud-feature-drift", f"rules.0.warn={level}", f"rules.0.alert={2 * level}"
    )
    assert strict["overrides"] == {"rules.0.warn": level, "rules.0.alert": 2 * level}
    kept = strict["episodes"]
    assert len(kept) < len(drift)
    assert [key(e) for e in kept if e["metric"] == "psi"] == [
        key(e) for e in drift if e["metric"] == "psi" and e["peak_value"] > level
    ]
    assert [e for e in kept if e["metric"] != "psi"] == [e for e in drift if e["metric"] != "psi"]
