// "Create ticket" among the conversation's actions: one click, the ticket opens.
import { useState } from "preact/hooks";
import { t } from "../i18n";
import { notify, reportError } from "../store";
import { ticketFromConversation } from "./api";
import { openTicket } from "./screen";

export function CreateTicketButton({ conversationId }: { conversationId: string }) {
  const [busy, setBusy] = useState(false);
  const create = async () => {
    setBusy(true);
    try {
      const tk = await ticketFromConversation(conversationId);
      notify(t("tk.created", { number: tk.number }));
      openTicket(tk.id);
    } catch (e) {
      reportError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" class="tk-create" disabled={busy} onClick={() => void create()}>
      {t("tk.create")}
    </button>
  );
}
