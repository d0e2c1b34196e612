"""checks - what the chaos run proves once the faults have stopped and the work has
drained. Each check returns (figures, problems): figures are printed as the run's
result, problems fail it. Nothing here depends on timing: only on what was
acknowledged and what the stores hold."""
import collections
import json

from notify_support import verify_standard_webhook
from support import query


def stripe_webhooks(stack, accepted):
    """Every event answered 2xx is stored once and processed (or ignored) once."""
    ids = list(accepted)
    rows = query(stack, "SELECT id, status, count(*) OVER (PARTITION BY id) FROM stripe_events WHERE id = ANY(%s)",
                 (ids,))
    stored = {row[0]: row for row in rows}
    problems = [f"acknowledged Stripe event {i} is not stored" for i in ids if i not in stored]
    problems += [f"Stripe event {r[0]} is {r[1]}" for r in rows if r[1] not in ("processed", "ignored")]
    problems += [f"Stripe event {r[0]} stored {r[2]} times" for r in rows if r[2] != 1]
    updates = dict(query(stack, "SELECT source_event_id, count(*) FROM subscription_updates"
                                " WHERE source_event_id = ANY(%s) GROUP BY 1", (ids,)))
    problems += [f"Stripe event {i} made {n} subscription updates" for i, n in updates.items() if n != 1]
    statuses = collections.Counter(r[1] for r in rows)
    return {"stripe events acknowledged": len(ids), "stored once": sum(1 for r in rows if r[2] == 1),
            "processed": statuses["processed"], "ignored": statuses["ignored"],
            "subscription updates (one per event at most)": sum(updates.values())}, problems


def usage(stack, lago_state, ingested, allowed):
    """Every event answered 202 or allowed is in the ledger once and reached Lago: stored there once
    under its transaction_id; nothing reached Lago that the ledger does not hold."""
    wanted = set(ingested) | set(allowed)
    rows = query(stack, "SELECT transaction_id, forwarded_at IS NOT NULL FROM usage_events")
    ledger = dict(rows)
    lago = lago_state["events"]
    problems = [f"acknowledged usage event {tx} is not in the ledger" for tx in sorted(wanted - set(ledger))][:20]
    problems += [f"ledger event {tx} never forwarded" for tx, done in ledger.items() if not done][:20]
    problems += [f"ledger event {tx} is not in Lago" for tx in sorted(set(ledger) - set(lago))][:20]
    problems += [f"Lago holds {tx}, which the ledger does not" for tx in sorted(set(lago) - set(ledger))][:20]
    resent = [tx for tx, e in lago.items() if e["receive_count"] > 1]
    return {"usage events acknowledged (202 or allowed)": len(wanted), "in the ledger": len(wanted & set(ledger)),
            "ledger rows": len(ledger), "stored in Lago once by transaction_id": len(set(ledger) & set(lago)),
            "sent to Lago again after a crash (Lago deduplicated)": len(resent),
            "Lago events received in all": lago_state["events_received"]}, problems


def quota(stack, allowed, users, limit, seeded):
    """Per user and window (all in this month's period), allowed calls never exceed the limit."""
    per_user = collections.Counter(allowed.values())
    ledger = dict(query(stack, "SELECT user_id, sum(quantity) FROM usage_events WHERE user_id = ANY(%s) GROUP BY 1",
                        (list(users),)))
    problems = [f"{u}: {per_user[u]} allowed with {limit - seeded} left" for u in users if per_user[u] > limit - seeded]
    problems += [f"{u}: the ledger holds {ledger.get(u, 0)} > {limit}" for u in users if ledger.get(u, 0) > limit]
    return {"quota users": len(users), "calls allowed": sum(per_user.values()),
            "allowed at most (users x calls left)": len(users) * (limit - seeded),
            "users at their limit exactly": sum(1 for u in users if ledger.get(u, 0) == limit),
            "max ledger sum of a user (limit %d)" % limit: max(ledger.values(), default=0)}, problems


def lago_webhooks(stack, accepted):
    """Every Lago webhook answered 200 is stored once (by its signed body) and applied once."""
    rows = query(stack, "SELECT body_sha256, unique_key, status FROM lago_webhooks")
    by_hash = {r[0]: r for r in rows}
    problems = [f"acknowledged Lago webhook {k} is not stored" for k, h in accepted.items() if h not in by_hash]
    problems += [f"Lago webhook {r[1]} is {r[2]}" for r in rows if r[2] != "processed"]
    notes = collections.Counter(r[0] for r in query(stack, "SELECT split_part(dedupe_key, ':', 2) FROM notifications"
                                                           " WHERE dedupe_key LIKE 'lago:%%'"))
    hashes = {h for h in accepted.values() if h in by_hash}   # the inbox dedupes on the signed body
    problems += [f"Lago webhook {by_hash[h][1]} made {notes[h]} notifications" for h in hashes if notes[h] != 1]
    return {"Lago webhooks acknowledged": len(accepted), "stored once": len(hashes),
            "processed": sum(1 for r in rows if r[2] == "processed"),
            "their notifications (one each)": sum(notes[h] for h in hashes)}, problems


def notifications(stack, receiver, hook, secret, sink):
    """Every notification is delivered at least once with one id: each webhook message reached the
    receiver (signed, under one webhook-id that no other notification uses) and each mail sent reached
    the sink (under the one Message-ID its row holds)."""
    problems = []
    notes = query(stack, "SELECT id, kind, status, message_id, last_error FROM notifications")
    unfinished = [n for n in notes if n[2] not in ("sent", "skipped")]
    problems += [f"notification {n[0]} ({n[1]}) is {n[2]}" for n in unfinished][:20]
    messages = query(stack, "SELECT id, notification_id, status FROM webhook_messages")
    problems += [f"webhook message {m[0]} is {m[2]}" for m in messages if m[2] != "sent"][:20]
    # A kind either has a webhook event type (then each of its notifications has its message for the
    # one endpoint, which takes every type) or none (invoice_created: mail only).
    fanned = {m[1] for m in messages}
    kind_of = {n[0]: n[1] for n in notes}
    webhook_kinds = {kind_of[m[1]] for m in messages}
    problems += [f"notification {n[0]} ({n[1]}) has no webhook message" for n in notes
                 if n[1] in webhook_kinds and n[0] not in fanned][:20]
    problems += [f"notification {n} has {c} webhook messages" for n, c in
                 collections.Counter(m[1] for m in messages).items() if c != 1][:20]
    received = collections.defaultdict(list)
    for request in receiver.requests(hook):
        body = verify_standard_webhook(secret, request["headers"], request["body"], tolerance=10 ** 9)
        received[request["headers"]["webhook-id"]].append(json.dumps(body, sort_keys=True))
    owner = {m[0]: m[1] for m in messages}
    problems += [f"webhook {i} is no message of ours" for i in received if i not in owner][:20]
    problems += [f"webhook message {m[0]} never arrived" for m in messages if m[0] not in received][:20]
    problems += [f"webhook {i} arrived with {len(set(b))} different bodies" for i, b in received.items()
                 if len(set(b)) != 1]
    mails = collections.Counter(m["message-id"] for m in sink.messages())
    sent_mail = {n[3]: n[0] for n in notes if n[2] == "sent" and n[3]}
    problems += [f"mail {mid} of notification {nid} never arrived" for mid, nid in sent_mail.items()
                 if mid not in mails][:20]
    problems += [f"mail {mid} is no notification's" for mid in mails if mid not in sent_mail][:20]
    return {"notifications": len(notes), "sent": sum(1 for n in notes if n[2] == "sent"),
            "skipped (by rule)": dict(collections.Counter(f"{n[1]}: {n[4]}" for n in notes if n[2] == "skipped")),
            "mail-only (no webhook type)": sorted({n[1] for n in notes} - webhook_kinds),
            "webhook messages": len(messages), "webhooks received": sum(len(b) for b in received.values()),
            "webhooks received more than once": sum(1 for b in received.values() if len(b) > 1),
            "mails sent": len(sent_mail), "mails received": sum(mails.values()),
            "mails received more than once": sum(1 for n in mails.values() if n > 1)}, problems


SUB_COLUMNS = ("user_id", "plan_id", "interval", "status", "current_period_start", "current_period_end",
               "cancel_at_period_end", "trial_end", "last_event_created")


def subscription_states(stack, sub_ids):
    rows = query(stack, f"SELECT id, {', '.join(SUB_COLUMNS)} FROM subscriptions WHERE id = ANY(%s)",
                 (list(sub_ids),))
    return {row[0]: dict(zip(SUB_COLUMNS, row[1:])) for row in rows}


def stripe_effects(stack):
    """The Stripe events' notification requests (dedupe keys)."""
    return {r[0] for r in query(stack, "SELECT dedupe_key FROM notifications WHERE dedupe_key LIKE 'stripe:%%'")}


def replay(chaos, clean, sub_ids):
    """The chaos stack's subscriptions and Stripe notifications equal those of the clean replay."""
    mine, theirs = subscription_states(chaos, sub_ids), subscription_states(clean, sub_ids)
    problems = [f"subscription {s}: chaos {mine.get(s)} != replay {theirs.get(s)}" for s in sub_ids
                if mine.get(s) != theirs.get(s)][:20]
    effects, expected = stripe_effects(chaos), stripe_effects(clean)
    problems += [f"notification {k} only in the chaos run" for k in sorted(effects - expected)][:20]
    problems += [f"notification {k} only in the replay" for k in sorted(expected - effects)][:20]
    statuses = collections.Counter(s["status"] for s in mine.values())
    return {"subscriptions compared": len(sub_ids), "equal to the replay": sum(
        1 for s in sub_ids if s in mine and mine.get(s) == theirs.get(s)),
        "states": dict(statuses), "Stripe events' own notification requests (receipts; equal sets)": len(effects & expected)}, problems


def billing_api(stack, stripe_objects, answered, users):
    """The pages' calls got an answer or a 503 (never another 5xx or a 4xx), and however often a
    checkout was retried, Stripe holds one customer per user: the one our customers row names."""
    problems = [f"{n} x {m} {p} answered {s}" for (m, p, s), n in answered.items() if s not in (200, 503, "refused")]
    per_user = collections.defaultdict(set)
    for cus in stripe_objects.get("customer", {}).values():
        per_user[(cus.get("metadata") or {}).get("user_id")].add(cus["id"])
    ours = dict(query(stack, "SELECT user_id, stripe_customer_id FROM customers WHERE user_id = ANY(%s)", (users,)))
    problems += [f"{u}: {len(per_user[u])} Stripe customers" for u in users if len(per_user[u]) > 1]
    problems += [f"{u}: customers row names {ours.get(u)}, Stripe has {sorted(per_user[u])}" for u in users
                 if per_user[u] and ours.get(u) not in per_user[u]]
    figures = {f"{m} {p} {s}": n for (m, p, s), n in sorted(answered.items(), key=str)}
    figures["users with one Stripe customer"] = sum(1 for u in users if len(per_user[u]) == 1)
    return figures, problems
