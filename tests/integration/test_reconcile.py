"""billing-admin reconcile (issue 13): local subscriptions vs Stripe's (list subscriptions) vs Lago's,
against stand-ins made to disagree; --fix applies Stripe's truth through the webhook path."""
import json
import urllib.request

from billing_helpers import StripeStandin
from support import query, wait_for
from usage_support import subscribe


def lago_create(url, key, external_id, customer, plan):
    body = json.dumps({"subscription": {"external_id": external_id, "external_customer_id": customer,
                                        "plan_code": plan}}).encode()
    request = urllib.request.Request(url + "/api/v1/subscriptions", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def reconcile(stack, *args):
    result = stack.admin("reconcile", *args, timeout=120)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result


def kinds(report):
    return sorted((d["kind"], d["subscription_id"]) for d in report["drift"])


def test_reconcile_reports_drift_and_fixes_it_with_stripes_truth(stack):
    stripe = StripeStandin(stack.standin("stripe"))
    lago_url = stack.standin("lago")
    stack.start("gateway")
    stack.start("stripe-worker")
    stack.start("subscription-worker")
    db = stack.db()
    wait_for(lambda: query(db, "SELECT count(*) FROM plans")[0][0] >= 4, message="the plan catalogue")
    assert stack.admin("setup-lago").returncode == 0

    # Stripe's truth.
    stripe.seed(prices=[{"id": "price_starter_m", "lookup_key": "starter_monthly", "recurring": {"interval": "month"}},
                        {"id": "price_pro_m", "lookup_key": "professional_monthly", "recurring": {"interval": "month"}}],
                subscriptions=[
                    {"id": "sub_same", "customer": "cus_a", "metadata": {"user_id": "u-a"},
                     "items": [{"price": "price_starter_m"}]},
                    {"id": "sub_canceled_there", "customer": "cus_b", "status": "canceled", "metadata": {"user_id": "u-b"},
                     "items": [{"price": "price_starter_m"}]},
                    {"id": "sub_only_there", "customer": "cus_c", "metadata": {"user_id": "u-c"},
                     "items": [{"price": "price_starter_m"}]},
                    {"id": "sub_upgraded_there", "customer": "cus_e", "metadata": {"user_id": "u-e"},
                     "items": [{"price": "price_pro_m"}]}])
    # Ours.
    for user, sub in (("u-a", "sub_same"), ("u-b", "sub_canceled_there"), ("u-d", "sub_only_here"),
                      ("u-e", "sub_upgraded_there")):
        subscribe(stack, user, "starter", sub_id=sub)
    query(db, "UPDATE subscriptions SET stripe_price_id = 'price_starter_m'")
    # Lago's.
    key = stack.env["LAGO_API_KEY"]
    lago_create(lago_url, key, "sub_same", "u-a", "starter")
    lago_create(lago_url, key, "sub_only_here", "u-d", "professional")
    lago_create(lago_url, key, "sub_ghost", "u-g", "starter")

    result = reconcile(stack, "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert kinds(report) == [
        ("lago_not_ended", "sub_ghost"),
        ("lago_plan_mismatch", "sub_only_here"),
        ("missing_here", "sub_only_there"),
        ("missing_in_lago", "sub_canceled_there"),
        ("missing_in_lago", "sub_upgraded_there"),
        ("missing_in_stripe", "sub_only_here"),
        ("price_mismatch", "sub_upgraded_there"),
        ("status_mismatch", "sub_canceled_there"),
    ]
    status = next(d for d in report["drift"] if d["kind"] == "status_mismatch")
    assert (status["local"], status["remote"], status["fixable"]) == ("active", "canceled", True)
    assert report["fix_events"] == []
    table = reconcile(stack).stdout
    assert table.splitlines()[0].split()[:3] == ["DRIFT", "SUBSCRIPTION", "USER"]
    assert any(line.split()[:2] == ["status_mismatch", "sub_canceled_there"] for line in table.splitlines())
    assert query(db, "SELECT count(*) FROM stripe_events") == [(0,)]   # reading changes nothing

    # --fix: Stripe's truth, applied by the owners through the webhook path.
    result = reconcile(stack, "--fix", "--json", "--wait", "30")
    report = json.loads(result.stdout)
    assert len(report["fix_events"]) == 3
    assert kinds(report) == [
        ("lago_not_ended", "sub_ghost"),
        ("lago_plan_mismatch", "sub_only_here"),
        ("missing_in_lago", "sub_only_there"),
        ("missing_in_lago", "sub_upgraded_there"),
        ("missing_in_stripe", "sub_only_here"),
    ]
    assert result.returncode == 1   # drift is left that only a human (or the lago-worker) can settle
    rows = dict((r[0], r[1:]) for r in query(db, "SELECT id, user_id, plan_id, status, stripe_price_id FROM subscriptions"))
    assert rows["sub_canceled_there"][2] == "canceled"
    assert rows["sub_upgraded_there"][1:] == ("professional", "active", "price_pro_m")
    assert rows["sub_only_there"] == ("u-c", "starter", "active", "price_starter_m")
    assert rows["sub_only_here"][2] == "active"   # never deleted on Stripe's silence
    assert query(db, "SELECT count(*) FROM stripe_events WHERE id LIKE 'reconcile_%%' AND status = 'processed'") == [(3,)]

    # A second --fix has nothing left to fix and records nothing.
    report = json.loads(reconcile(stack, "--fix", "--json").stdout)
    assert report["fix_events"] == [] and len(report["drift"]) == 5
    assert query(db, "SELECT count(*) FROM stripe_events") == [(3,)]
