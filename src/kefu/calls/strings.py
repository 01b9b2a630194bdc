"""What the calls core says to people, in both languages."""

from __future__ import annotations

from kefu.i18n import Text

VOICE_OFF = Text("Voice calls are not available here.", "此处暂不支持语音通话。")
NOBODY = Text(
    "Nobody can take calls right now. Chat with us or leave a voicemail.",
    "当前没有客服可以接听电话，请在线咨询或留言。",
)
MEDIA_DOWN = Text(
    "Voice is unavailable right now. Please chat with us instead.",
    "语音服务暂时不可用，请改用在线咨询。",
)
NOT_FOUND = Text("This call does not exist.", "该通话不存在。")
TAKEN = Text("Another agent has already answered this call.", "该来电已被其他客服接听。")
NOT_YOURS = Text("This call is not offered to you.", "该来电没有分配给您。")
NOT_NOW = Text(
    "That cannot be done while the call is {status}.", "通话当前为 {status}，无法执行此操作。"
)
BUSY_PHONE = Text(
    "Hang up and finish wrap-up before signing out.", "请先挂断并完成话后处理再签出。"
)
AGENT_CANNOT_TAKE = Text("That agent cannot take a call now.", "该客服当前无法接听电话。")
ONE_TARGET = Text(
    "Give exactly one of agent_id, group_id or number.",
    "请只指定 agent_id、group_id 或 number 中的一个。",
)
ATTENDED_AGENT_ONLY = Text(
    "An attended transfer consults an agent first: give agent_id.",
    "咨询转接需要先联系一位客服：请指定 agent_id。",
)
NO_CONSULT = Text("No transfer is in progress.", "当前没有进行中的转接。")
GROUP_UNKNOWN = Text("That skill group is not in this workspace.", "该技能组不属于此工作区。")
RECORDING_NOTICE = Text("This call may be recorded.", "本次通话可能会被录音。")
VOICEMAIL_PROMPT = Text("Please leave a message after the tone.", "请在提示音后留言。")
CALL_MESSAGE = Text("Voice call", "语音来电")
