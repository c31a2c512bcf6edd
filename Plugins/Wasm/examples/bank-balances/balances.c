/* Bank balances as a fold: Deposited adds data.amount to the stream's balance, Withdrawn
 * subtracts it. State lives in the plugin's table (created by the spec's setup), never in memory. */
#include "projector.h"

PJ_EXPORT("projector_abi_version") int32_t abi_version(void) { return PROJECTOR_ABI_VERSION; }

static const char *upsert =
    "INSERT INTO balances(account, balance, events) VALUES (?1, ?2, 1) "
    "ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance, events = events + 1";

PJ_EXPORT("projector_apply") int32_t apply(void) {
    char type[32], account[256], amount[32];
    if (pj_event("$.type", type, sizeof type) < 0) return 0;
    int deposit = type[0] == 'D';
    if (pj_event("$.stream", account, sizeof account) < 0) { pj_fail("the event has no stream"); return 1; }
    int ok = 0;
    int32_t n = pj_event("$.data.amount", amount, sizeof amount);
    int64_t value = n < 0 ? 0 : pj_parse_int(amount, n, &ok);
    if (!ok) { pj_fail("data.amount is not an integer"); return 1; }
    uint8_t bytes[300];
    pj_values args = {bytes, 0, sizeof bytes};
    pj_text(&args, account);
    pj_int(&args, deposit ? value : -value);
    return pj_exec(upsert, &args) < 0 ? 1 : 0;
}
