/* Bank balances as a fold: Deposited adds data.amount to the stream's balance, Withdrawn
 * subtracts it. State lives in the plugin's table (created by the spec's setup), never in memory. */
#include "projector.h"

PJ_EXPORT("projector_abi_version") int32_t abi_version(void) { return PROJECTOR_ABI_VERSION; }

static const char upsert[] =
    "INSERT INTO balances(account, balance, events) VALUES (?1, ?2, 1) "
    "ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance, events = events + 1";
static const char paths[] = "$.type\0$.stream\0$.data.amount";

static int32_t apply(void) {
    uint8_t values[600];
    pj_reader event;
    pj_value type, account, amount;
    if (pj_event_values(paths, sizeof paths, values, sizeof values, &event) < 0) { pj_fail("the event's fields are too long"); return 1; }
    pj_read(&event, &type);
    pj_read(&event, &account);
    pj_read(&event, &amount);
    if (account.tag != PJ_TEXT) { pj_fail("the event has no stream"); return 1; }
    int ok = 0;
    int64_t value = amount.tag == PJ_TEXT ? pj_parse_int(amount.text, amount.len, &ok) : 0;
    if (!ok) { pj_fail("data.amount is not an integer"); return 1; }
    uint8_t bytes[620];
    pj_values args = {bytes, 0, sizeof bytes};
    pj_text_n(&args, account.text, account.len);
    pj_int(&args, type.tag == PJ_TEXT && type.text[0] == 'D' ? value : -value);
    return pj_exec(upsert, &args) < 0 ? 1 : 0;
}

PJ_APPLY_EACH(apply)
