/* pool/: the available and busy lists of a shard, the return rule and the size split. */
#include "check.h"
#include "pool/pool.h"

static void test_take_and_return_move_between_lists(void)
{
    struct pool_shard s;
    pool_shard_init(&s, "primary", "app", 0, 0, 2);
    struct pool_conn a = {0}, b = {0};
    pool_shard_add(&s, &a, 10);
    pool_shard_add(&s, &b, 20);
    CHECK_UINT(s.navailable, 2);
    CHECK_STR(s.name, "primary/app");
    struct pool_conn *x = pool_take(&s);
    CHECK(x == &b); /* most recently added first */
    CHECK_UINT(s.navailable, 1);
    CHECK_UINT(s.nbusy, 1);
    struct pool_conn *y = pool_take(&s);
    CHECK(y == &a);
    CHECK(pool_take(&s) == NULL);
    pool_return(x, 30);
    CHECK_UINT(s.navailable, 1);
    CHECK_UINT(s.nbusy, 1);
    CHECK_UINT(x->idle_since_ms, 30);
    pool_remove(y);
    CHECK_UINT(pool_size(&s), 1);
    CHECK(pool_take(&s) == x);
}

static void test_stale_takes_the_oldest_idle_only(void)
{
    struct pool_shard s;
    pool_shard_init(&s, "b", "u", 0, 0, 2);
    struct pool_conn a = {0}, b = {0};
    pool_shard_add(&s, &a, 100);
    pool_shard_add(&s, &b, 500);
    CHECK(pool_take_stale(&s, 150, 100) == NULL);
    CHECK(pool_take_stale(&s, 200, 100) == &a);
    CHECK(pool_take_stale(&s, 200, 100) == NULL);
    CHECK_UINT(s.navailable, 1);
}

static void test_readd_keeps_the_idle_order(void)
{
    struct pool_shard s;
    pool_shard_init(&s, "b", "u", 0, 0, 3);
    struct pool_conn a = {0}, b = {0}, c = {0};
    pool_shard_add(&s, &a, 100);
    pool_shard_add(&s, &b, 300);
    pool_shard_add(&s, &c, 500);
    /* b goes away for a ping and comes back with its old idle time: still between a and c. */
    pool_remove(&b);
    pool_shard_readd(&s, &b, 42, 300, 900);
    CHECK_UINT(b.created_ms, 42);
    CHECK_UINT(s.navailable, 3);
    CHECK(pool_take_stale(&s, 1000, 100) == &a);
    CHECK(pool_take_stale(&s, 1000, 100) == &b);
    CHECK(pool_take_stale(&s, 1000, 100) == &c);
    /* Older than everything: to the tail; into an empty shard: alone. */
    pool_shard_readd(&s, &c, 0, 500, 500);
    pool_shard_readd(&s, &a, 0, 50, 50);
    CHECK(pool_take(&s) == &c);
    CHECK(pool_take_stale(&s, 1000, 100) == &a);
}

static void test_unchecked_skips_the_recently_pinged(void)
{
    struct pool_shard s;
    pool_shard_init(&s, "b", "u", 0, 0, 3);
    struct pool_conn a = {0}, b = {0}, c = {0};
    pool_shard_add(&s, &a, 100);
    pool_shard_add(&s, &b, 200);
    pool_shard_add(&s, &c, 900);
    /* a was pinged at 800: b is the oldest not checked for 500 ms; then none. */
    pool_remove(&a);
    pool_shard_readd(&s, &a, 0, 100, 800);
    CHECK(pool_take_unchecked(&s, 1000, 500) == &b);
    CHECK(pool_take_unchecked(&s, 1000, 500) == NULL);
    CHECK(pool_take_unchecked(&s, 1300, 500) == &a);
    CHECK_UINT(s.navailable, 1);
}

static void test_return_verdict(void)
{
    struct pool_end_state st = {.backend_idle = true, .healthy = true};
    CHECK(pool_return_verdict(&st) == POOL_RESET);
    st.backend_idle = false;
    CHECK(pool_return_verdict(&st) == POOL_DISCARD);
    st.backend_idle = true;
    st.healthy = false;
    CHECK(pool_return_verdict(&st) == POOL_DISCARD);
}

static void test_split_across_workers(void)
{
    CHECK_UINT(pool_split(10, 4, 0), 3);
    CHECK_UINT(pool_split(10, 4, 1), 3);
    CHECK_UINT(pool_split(10, 4, 2), 2);
    CHECK_UINT(pool_split(10, 4, 3), 2);
    CHECK_UINT(pool_split(1, 2, 1), 0);
}

static void test_move_keeps_lists_and_order(void)
{
    struct pool_shard from, to;
    pool_shard_init(&from, "primary", "app", 0, 0, 3);
    pool_shard_init(&to, "primary", "app", 1, 2, 5);
    struct pool_conn a = {0}, b = {0}, c = {0};
    pool_shard_add(&from, &a, 10);
    pool_shard_add(&from, &b, 20);
    pool_shard_add(&from, &c, 30);
    CHECK(pool_take(&from) == &c);
    pool_shard_move(&to, &from);
    CHECK_UINT(pool_size(&from), 0);
    CHECK_UINT(to.navailable, 2);
    CHECK_UINT(to.nbusy, 1);
    CHECK(a.shard == &to && b.shard == &to && c.shard == &to);
    CHECK(pool_take(&to) == &b); /* still most recently returned first */
    pool_return(&c, 40);
    CHECK_UINT(to.nbusy, 1);
    CHECK(pool_take_stale(&to, 1000, 100) == &a); /* the oldest idle one */
    CHECK(pool_take(&from) == NULL);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_take_and_return_move_between_lists),
        CHECK_CASE(test_stale_takes_the_oldest_idle_only),
        CHECK_CASE(test_readd_keeps_the_idle_order),
        CHECK_CASE(test_unchecked_skips_the_recently_pinged),
        CHECK_CASE(test_return_verdict),
        CHECK_CASE(test_split_across_workers),
        CHECK_CASE(test_move_keeps_lists_and_order),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
