"""Every way an event enters the bridge; each only turns outside input into durable inbox events.

- webhooks: Azure Monitor, ServiceNow pushes, Jira partners, forward routes (parsed here; routed, authenticated
  and bounded by :mod:`bridge.server`);
- pollers: a ServiceNow table (:mod:`.poller`) or a Jira project (:mod:`.jira_poller`) from a watermark;
- the shared mailbox of email-only desks (:mod:`.mailbox`);
- scheduled ticks, time passing as events (:mod:`.ticks`);
- the participant registry, as account sync requests (:mod:`.registry`);
- :mod:`.scheduler` runs the scheduled ones.
"""
