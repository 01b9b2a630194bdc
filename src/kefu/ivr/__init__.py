"""The IVR (语音导航): a voice inbox's menu tree and a pure engine that walks it.

`menu` holds the tree an admin edits in the console (bilingual prompts, options by
telephone key, timeouts, retries, the off-hours branch), validated on decode.
`engine` is a step function with no I/O: `start` when a call enters the IVR, `press`
for each key (a SIP caller's DTMF from LiveKit `sip_dtmf` packets via `key_of_dtmf`,
or the widget's keypad), `timeout` when the caller's time for a menu runs out.

How the call flow will use it (the call model and the LiveKit worker are the next
steps): the call service loads the inbox's `IvrTree`, calls `start` with the inbox's
business-hours answer (routing's calendar, read with the call's `now`) and the caller's
locale, stores the returned `State` on the call row (status `ivr`), plays or shows
`Step.prompts` and arms a timer for `Step.timeout_s`. Each input is fed to
`press`/`timeout` under the call row's lock and the new `State` written back in the same
transaction. A `Routed` outcome queues the call (status `queued`, `call.enterqueue`) with
`entry` as the conversation's entry point and the path as the call's IVR path;
`group_id` None means the inbox's default group. `ToVoicemail` starts the caller's
voicemail recording; `HungUp` ends the call.
"""
