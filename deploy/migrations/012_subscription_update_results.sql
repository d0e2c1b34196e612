-- subscription_updates as the one way to ask the subscription-worker (the
-- owner of customers and subscriptions) for a change, also from the
-- stripe-worker's billing API: the API inserts a request row, NOTIFYs, and
-- answers the user from the outcome the owner writes on the row when it
-- applies it (in the same transaction as the change). A request the API
-- stopped waiting for stays and is applied all the same.
--
--   customer.add  the checkout's new Stripe customer: adds the link
--                 user -> customer; an existing link is kept (the first
--                 writer wins). result: {"stripe_customer_id": the one now on record}
--   any kind      result: {"newer": bool} for subscription changes (the
--                 keyed state was taken), NULL when nobody asked for one.
ALTER TABLE subscription_updates DROP CONSTRAINT subscription_updates_kind_check;
ALTER TABLE subscription_updates ADD CONSTRAINT subscription_updates_kind_check
    CHECK (kind IN ('customer.link', 'customer.add', 'subscription.snapshot', 'subscription.deleted',
                    'invoice.paid', 'invoice.payment_failed'));
ALTER TABLE subscription_updates ADD COLUMN result jsonb;
