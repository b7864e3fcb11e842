/*
 * Business rule: "Bridge - push change"
 * Table: incident (install one per table the bridge watches: sn_customerservice_case, problem, ...)
 * When: async, after insert and update.  Advanced: true.  Condition: (empty = every change)
 *
 * Sends the changed record to the bridge's POST /webhooks/servicenow?route=<route>, signed with
 * HMAC-SHA256 over the body (header X-Bridge-Signature: sha256=<hex>). The bridge also polls, so a push that
 * fails is picked up by the next poll: this rule never blocks or fails the user's transaction.
 * The shared secret lives in the system property x_bridge.push_secret (type password2), never in this script.
 */
(function executeRule(current, previous /* null when async */) {
    var route = gs.getProperty('x_bridge.route', 'sn-changes');
    var secret = gs.getProperty('x_bridge.push_secret');
    if (!secret) {
        gs.warn('Bridge push skipped: x_bridge.push_secret is not set');
        return;
    }
    var fields = ['number', 'short_description', 'description', 'state', 'impact', 'urgency', 'priority',
                  'assignment_group', 'assigned_to', 'category', 'correlation_id', 'correlation_display',
                  'close_code', 'close_notes', 'hold_reason', 'u_external_reference'];
    var record = {};
    for (var i = 0; i < fields.length; i++) {
        if (current.isValidField(fields[i])) {
            record[fields[i]] = current.getValue(fields[i]) || '';
        }
    }
    var changed = [];
    var elements = current.getElements();
    for (var j = 0; j < elements.size(); j++) {
        var element = elements.get(j);
        if (element.changes()) {
            changed.push(element.getName());
        }
    }
    var body = JSON.stringify({
        table: current.getTableName(),
        sys_id: current.getUniqueValue(),
        operation: current.operation(),
        sys_mod_count: current.getValue('sys_mod_count'),
        sys_updated_on: current.getValue('sys_updated_on'),
        changed: changed,
        record: record
    });
    var mac = new GlideCertificateEncryption().generateMac(
        GlideStringUtil.base64Encode(secret), 'HmacSHA256', body);
    // generateMac answers in base64; the bridge accepts the signature in base64 or hex
    try {
        var request = new sn_ws.RESTMessageV2('Bridge webhook', 'push');
        request.setStringParameterNoEscape('route', route);
        request.setRequestHeader('X-Bridge-Signature', 'sha256=' + mac);
        request.setRequestBody(body);
        request.executeAsync();
    } catch (e) {
        gs.warn('Bridge push failed (the poller will catch up): ' + e.message);
    }

})(current, previous);
