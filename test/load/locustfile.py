"""
Load scenarios for `stockflow serve` (shared/spec 003, AC4.4.4), for Debian's
`locust` package (python3-locust, 2.x):

    steady     50 req/s for 5 minutes
    spike      0 -> 200 req/s within 10 seconds, held for 60 seconds, then back to 0
    sustained  100 req/s for 10 minutes

Each simulated user sends about one request per second, so the number of
users is the request rate. The mix: 60% stored look-ups
(GET /api/v1/predictions/{code}), 25% on-demand POST /api/v1/predict, 5% the
ranked list, 5% POST /api/v1/batch_predict with 10 stocks, 5% GET /api/v1/health.

Run against a server started with the rate limit off (or above the scenario's
rate: the limit is per client IP, and every locust user shares one IP):

    RATE_LIMIT_RPS=0 stockflow serve --data-dir data &
    STOCKFLOW_SCENARIO=steady locust -f test/load/locustfile.py --headless \
        --host http://127.0.0.1:8000 --csv /tmp/steady

Environment:
    STOCKFLOW_SCENARIO      steady | spike | sustained (default: steady)
    STOCKFLOW_SCALE         multiply every duration by this (e.g. 0.1 for a 30 s smoke run; default 1)
    STOCKFLOW_PREDICT_DATE  prediction date for /predict (default: the latest run's date)
    STOCKFLOW_P95_MS        p95 budget in ms (default 100, the spec's)
    STOCKFLOW_MAX_FAIL      largest acceptable failure ratio (default 0.01, the spec's)

The process exits 1 when the failure ratio or the overall p95 is over budget.
"""

import os
import random

import requests
from locust import HttpUser, LoadTestShape, constant_throughput, events, task

SCENARIO = os.environ.get("STOCKFLOW_SCENARIO", "steady")
SCALE = float(os.environ.get("STOCKFLOW_SCALE", "1"))
P95_MS = float(os.environ.get("STOCKFLOW_P95_MS", "100"))
MAX_FAIL = float(os.environ.get("STOCKFLOW_MAX_FAIL", "0.01"))

# (seconds from start until which the stage lasts, users, spawn rate per second)
SCENARIOS = {
    "steady": [(300, 50, 50)],
    "spike": [(10, 200, 20), (70, 200, 20), (80, 0, 200)],
    "sustained": [(600, 100, 50)],
}

if SCENARIO not in SCENARIOS:
    raise SystemExit(f"STOCKFLOW_SCENARIO must be one of {', '.join(SCENARIOS)}, got {SCENARIO!r}")

CODES: list = []
DATE: dict = {"value": os.environ.get("STOCKFLOW_PREDICT_DATE")}


@events.test_start.add_listener
def load_codes(environment, **_kwargs):
    """The stocks to ask about: the latest run's ranked list (up to 1,000)."""
    host = environment.host or "http://127.0.0.1:8000"
    r = requests.get(f"{host}/api/v1/predictions", params={"limit": 1000}, timeout=10)
    if r.status_code != 200:
        raise SystemExit(f"cannot list predictions at {host}: HTTP {r.status_code} {r.text[:200]} (run `stockflow batch` first)")
    body = r.json()
    CODES.extend(item["bse_code"] for item in body["items"])
    if not DATE["value"]:
        DATE["value"] = body["prediction_date"]
    if not CODES:
        raise SystemExit("the latest run has no predictions to ask about")


@events.quitting.add_listener
def check_budget(environment, **_kwargs):
    total = environment.stats.total
    if total.num_requests == 0:
        environment.process_exit_code = 1
        return
    p95 = total.get_response_time_percentile(0.95)
    ok = total.fail_ratio <= MAX_FAIL and p95 <= P95_MS
    print(
        f"stockflow {SCENARIO}: {total.num_requests} requests, {total.total_rps:.1f} req/s, "
        f"failures {100 * total.fail_ratio:.2f}% (budget {100 * MAX_FAIL:.2f}%), "
        f"p50 {total.get_response_time_percentile(0.5):.0f} ms, p95 {p95:.0f} ms (budget {P95_MS:.0f} ms), "
        f"p99 {total.get_response_time_percentile(0.99):.0f} ms: {'PASS' if ok else 'FAIL'}"
    )
    environment.process_exit_code = 0 if ok else 1


class ApiUser(HttpUser):
    """One client sending about one request per second."""

    wait_time = constant_throughput(1)

    def code(self) -> str:
        return random.choice(CODES)

    @task(60)
    def stored_lookup(self):
        self.client.get(f"/api/v1/predictions/{self.code()}", name="/api/v1/predictions/{bse_code}")

    @task(25)
    def predict(self):
        self.client.post("/api/v1/predict", json={"bse_code": self.code(), "prediction_date": DATE["value"]})

    @task(5)
    def ranked_list(self):
        self.client.get("/api/v1/predictions", params={"limit": 50, "confidence": random.choice(["HIGH", "MEDIUM", "LOW"])}, name="/api/v1/predictions")

    @task(5)
    def batch_predict(self):
        items = [{"bse_code": c, "prediction_date": DATE["value"]} for c in random.sample(CODES, min(10, len(CODES)))]
        with self.client.post("/api/v1/batch_predict", json={"predictions": items}, catch_response=True) as r:
            if r.status_code == 200 and r.json().get("failed", 0) > 0:
                r.failure(f"{r.json()['failed']} items failed")

    @task(5)
    def health(self):
        self.client.get("/api/v1/health")


class ScenarioShape(LoadTestShape):
    """Users (≈ requests per second) over time for the chosen scenario; stops at its end."""

    stages = [(end * SCALE, users, rate) for end, users, rate in SCENARIOS[SCENARIO]]

    def tick(self):
        t = self.get_run_time()
        for end, users, rate in self.stages:
            if t < end:
                return (users, rate)
        return None
