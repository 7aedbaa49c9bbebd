"""The demo world: a card-fraud model with known incidents, written into DuckDB.

Production `v1` and shadow `v2` score every request. Weekly seasonality (weekends have
more volume, more mobile traffic and a different merchant mix), test traffic with
absurd values, duplicated deliveries, and feedback that arrives 1–30 days late,
sometimes twice, sometimes never. Incidents, counted back from the last day so they
land inside the monitored period for any `--days`:

- FLAPPING (days − 12 .. days − 7): GB traffic is partly mislabelled as US on
  alternate days (35% of GB rows, then 22%, ...): GB's volume flaps around the
  fraud-traffic warn level (ratio ≈0.65, ≈0.78, ...). Raw breaches come and go; the
  alert lifecycle (`clear`, `keep_firing_for`) makes it one episode;
- NULL_SPIKE (days − 13): `account_age_days` is NULL for a third of the rows;
- PIPELINE_BREAK (days − 9 and days − 8): `amount` arrives in cents on android;
- SHADOW_COUNTRY (last 6 days): shadow v2 scores all traffic from PT just over its
  threshold (it would block the whole country) while its aggregate AUC stays better
  than v1's: v2 is the sharper model everywhere else;
- FEATURE_JOIN (days − 4 and days − 3): the feature store's 7-day transaction count
  (`tx_count_7d`, which follows the 24-hour count: correlation ≈ 0.9) is joined to
  the wrong requests of the day. Each column's own distribution is exactly as
  before; only their relation breaks, which multivariate drift sees and no
  univariate check can;
- BLIND_MODEL (days − 2 and days − 1): production v1 reads stale copies of its strongest
  inputs: a third of its signal is left, under noise, at its usual block rate. Its
  scores crowd where it used to be unsure: the estimated AUC (label-free) falls on the
  day, while the labels that measure the drop are two weeks away.

`tx_count_24h`, `tx_count_7d` and `distance_km` never change on their own and must
never alert on their own. Everything is
generated with numpy from one seed and loaded through Arrow, so `--rows-per-day`
scales to millions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

DEMO_START = datetime(2026, 9, 1, tzinfo=UTC)  # a Tuesday
COUNTRIES = np.array(["US", "GB", "DE", "FR", "ES", "PT", "BR"])
COUNTRY_P = np.array([0.40, 0.15, 0.12, 0.10, 0.08, 0.08, 0.07])
DEVICES = np.array(["ios", "android", "web"])
DEVICE_P = {False: np.array([0.35, 0.40, 0.25]), True: np.array([0.40, 0.44, 0.16])}
MERCHANTS = np.array(
    ["grocery", "electronics", "travel", "fashion", "gaming", "restaurants", "fuel", "digital"]
)
MERCHANT_P = {
    False: np.array([0.22, 0.10, 0.06, 0.12, 0.08, 0.14, 0.18, 0.10]),
    True: np.array([0.18, 0.08, 0.12, 0.14, 0.12, 0.22, 0.08, 0.06]),
}
MERCHANT_RISK = np.array([0.0, 0.8, 0.4, 0.0, 0.9, 0.0, 0.0, 0.7])  # added to the fraud logit


@dataclass(frozen=True)
class Incidents:
    null_spike: date
    pipeline_break: tuple[date, date]
    shadow_country: tuple[date, date]
    flapping: tuple[date, date]
    feature_join: tuple[date, date]
    blind_model: tuple[date, date]
    country: str = "PT"
    device: str = "android"
    flapping_country: str = "GB"


def incidents_for(days: int) -> Incidents:
    def day(i: int) -> date:
        return (DEMO_START + timedelta(days=i)).date()

    return Incidents(
        null_spike=day(days - 13),
        pipeline_break=(day(days - 9), day(days - 8)),
        shadow_country=(day(days - 6), day(days - 1)),
        flapping=(day(days - 12), day(days - 7)),
        feature_join=(day(days - 4), day(days - 3)),
        blind_model=(day(days - 2), day(days - 1)),
    )


def period(days: int) -> tuple[date, date]:
    """First and last day (UTC) of the demo world."""
    return DEMO_START.date(), (DEMO_START + timedelta(days=days - 1)).date()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def generate_days(
    days: int = 35, rows_per_day: int = 4000, seed: int = 7
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """(predictions, feedback) one day at a time, so memory is bounded by one day."""
    if days < 21:
        raise ValueError("the demo needs at least 21 days (baselines and incidents need history)")
    if rows_per_day < 100:
        raise ValueError("rows_per_day must be at least 100")
    rng = np.random.default_rng(seed)
    # The 7-day count draws from a stream of its own, so the rest of the world is the
    # same as before the column existed.
    rng_7d = np.random.default_rng([seed, 7])
    rng_blind = np.random.default_rng([seed, 11])
    inc = incidents_for(days)
    preds: dict[str, list[np.ndarray]] = {}
    feedback: dict[str, list[np.ndarray]] = {}

    def add(store: dict[str, list[np.ndarray]], **cols: np.ndarray) -> None:
        for k, v in cols.items():
            store.setdefault(k, []).append(v)

    for d in range(days):
        day_start = DEMO_START + timedelta(days=d)
        today = day_start.date()
        weekend = day_start.weekday() >= 5
        n = int(rows_per_day * (1.3 if weekend else 1.0) * rng.uniform(0.97, 1.03))
        # Daytime-heavy arrival times within the day.
        seconds = np.clip(rng.normal(14 * 3600, 5 * 3600, n), 0, 86399).astype(np.int64)
        ts = np.datetime64(day_start.replace(tzinfo=None), "us") + seconds.astype("timedelta64[s]")
        country = rng.choice(COUNTRIES, n, p=COUNTRY_P)
        if inc.flapping[0] <= today <= inc.flapping[1]:
            # Every k-th GB row is logged as US (no random draw: the rest of the world
            # stays exactly as without the incident). Alternate days: 35%, then 22%.
            share = 35 if (today - inc.flapping[0]).days % 2 == 0 else 22
            gb = np.flatnonzero(country == inc.flapping_country)
            country[gb[np.arange(len(gb)) % 100 < share]] = "US"
        device = rng.choice(DEVICES, n, p=DEVICE_P[weekend])
        merchant_idx = rng.choice(len(MERCHANTS), n, p=MERCHANT_P[weekend])
        merchant = MERCHANTS[merchant_idx]
        amount = np.round(rng.lognormal(3.4 + (0.15 if weekend else 0.0), 1.0, n), 2)
        account_age = np.floor(rng.exponential(420, n))
        tx_count = rng.poisson(2.2, n).astype(np.float64)
        tx_count_7d = 3 * tx_count + rng_7d.poisson(6.0, n)
        if inc.feature_join[0] <= today <= inc.feature_join[1]:
            tx_count_7d = rng_7d.permutation(tx_count_7d)  # joined to the wrong requests
        distance = np.round(rng.lognormal(2.0, 1.1, n), 3)

        # True fraud propensity: risky merchants, young accounts, bursts, far away.
        merchant_risk = MERCHANT_RISK[merchant_idx]
        logit = (
            -4.6 + merchant_risk + 0.35 * np.log1p(amount / 50) - 0.002 * np.minimum(account_age, 800)
            + 0.25 * tx_count + 0.15 * np.log1p(distance)
        )  # fmt: skip
        label = (rng.uniform(size=n) < _sigmoid(logit)).astype(np.float64)
        signal = logit + 2.5 * (label - 0.03)
        v1 = _sigmoid(signal + rng.normal(0, 1.4, n) + 0.8)
        v2 = _sigmoid(signal * 1.2 + rng.normal(0, 0.6, n) + 0.9)
        if inc.blind_model[0] <= today <= inc.blind_model[1]:
            # v1 reads stale copies of its strongest inputs: a third of its signal is
            # left, under noise of its own, at the same block rate (the threshold was
            # tuned to it). Its own random stream: the rest of the world is unchanged.
            blurred = 0.35 * np.log(v1 / (1 - v1)) + rng_blind.normal(0, 1.0, n)
            v1 = _sigmoid(blurred - np.quantile(blurred, 1 - np.mean(v1 >= 0.5)))

        # Incidents, applied to what the model logged (features as it saw them).
        logged_age = account_age.copy()
        null_share = 0.33 if today == inc.null_spike else 0.01
        logged_age[rng.uniform(size=n) < null_share] = np.nan
        logged_amount = amount.copy()
        if inc.pipeline_break[0] <= today <= inc.pipeline_break[1]:
            logged_amount[device == inc.device] *= 100
        if inc.shadow_country[0] <= today <= inc.shadow_country[1]:
            hit = country == inc.country
            v2[hit] = rng.uniform(0.50, 0.65, int(hit.sum()))  # just over the threshold

        request_id = np.char.add(f"r{d:04d}-", np.char.zfill(np.arange(n).astype(str), 7))
        is_test = rng.uniform(size=n) < 0.006
        logged_amount[is_test] = 9_999_999.0  # test traffic: absurd values
        for role, version, score in (("production", "v1", v1), ("shadow", "v2", v2)):
            add(
                preds,
                prediction_id=np.char.add(request_id, "-" + version),
                request_id=request_id,
                ts=ts,
                model_name=np.full(n, "fraud"),
                model_version=np.full(n, version),
                role=np.full(n, role),
                amount=logged_amount,
                account_age_days=logged_age,
                tx_count_24h=tx_count,
                tx_count_7d=tx_count_7d,
                distance_km=distance,
                merchant_category=merchant,
                country=country,
                device=device,
                score=np.round(score, 6),
                predicted_label=(score >= 0.5).astype(np.int64),
                is_test=is_test,
            )

        # Feedback per request: 85% arrive 1–30 days later, 3% twice, some re-delivered.
        gets = (rng.uniform(size=n) < 0.85) & ~is_test
        delay = rng.uniform(1, 30, n) * 86400
        label_ts = ts + delay.astype(np.int64).astype("timedelta64[s]")
        add(feedback, request_id=request_id[gets], label=label[gets], label_ts=label_ts[gets])
        twice = gets & (rng.uniform(size=n) < 0.03)
        later = label_ts + (rng.uniform(1, 10, n) * 86400).astype(np.int64).astype("timedelta64[s]")
        add(feedback, request_id=request_id[twice], label=1 - label[twice], label_ts=later[twice])
        dup = gets & (rng.uniform(size=n) < 0.01)
        add(feedback, request_id=request_id[dup], label=label[dup], label_ts=label_ts[dup])

        # Each day's logs land in the nightly load at 02:00 the next morning.
        loaded = np.datetime64((day_start + timedelta(days=1, hours=2)).replace(tzinfo=None), "us")
        pred_cols = {k: np.concatenate(v) for k, v in preds.items()}
        # At-least-once delivery: 0.3% of prediction events arrive twice.
        dup_idx = np.flatnonzero(rng.uniform(size=len(pred_cols["ts"])) < 0.003)
        pred_cols = {k: np.concatenate([v, v[dup_idx]]) for k, v in pred_cols.items()}
        pred_cols["loaded_at"] = np.full(len(pred_cols["ts"]), loaded)
        fb_cols = {k: np.concatenate(v) for k, v in feedback.items()}
        fb_cols["loaded_at"] = np.full(len(fb_cols["request_id"]), loaded)
        preds.clear()
        feedback.clear()
        yield _predictions_table(pred_cols), _feedback_table(fb_cols)


def _predictions_table(cols: dict[str, np.ndarray]) -> pa.Table:
    return pa.table(
        {
            k: pa.array(v, type=pa.timestamp("us"))
            if k in ("ts", "loaded_at")
            else pa.array(v, from_pandas=True)
            for k, v in cols.items()
        }
    )


def _feedback_table(cols: dict[str, np.ndarray]) -> pa.Table:
    return pa.table(
        {
            "prediction_id": pa.nulls(len(cols["request_id"]), pa.string()),
            "request_id": pa.array(cols["request_id"]),
            "label": pa.array(cols["label"]),
            "label_ts": pa.array(cols["label_ts"], type=pa.timestamp("us")),
            "loaded_at": pa.array(cols["loaded_at"], type=pa.timestamp("us")),
        }
    )


def write_world(
    path: Path, days: int = 35, rows_per_day: int = 4000, seed: int = 7
) -> dict[str, int]:
    """Replace the demo's raw tables in the DuckDB file at `path`; return row counts.

    Days are appended one at a time, so `rows_per_day` can reach millions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    counts = {"raw_predictions": 0, "raw_feedback": 0}
    con = duckdb.connect(str(path))
    try:
        for day, (predictions, feedback) in enumerate(generate_days(days, rows_per_day, seed)):
            for table, arrow in (("raw_predictions", predictions), ("raw_feedback", feedback)):
                con.register("incoming", arrow)
                verb = f"CREATE TABLE {table} AS" if day == 0 else f"INSERT INTO {table}"
                con.execute(f"{verb} SELECT * FROM incoming")
                con.unregister("incoming")
                counts[table] += arrow.num_rows
    finally:
        con.close()
    return counts
