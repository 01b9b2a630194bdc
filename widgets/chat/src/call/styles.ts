// The call button and window, inside the widget's shadow root like the rest of its CSS.
export const callCss = `
header button.call-button svg { width: 20px; height: 20px; fill: currentColor; }
.call-sheet { padding: 14px 16px; background: #fff; border-bottom: 1px solid #e1e4e8; display: flex;
  flex-direction: column; gap: 8px; align-items: stretch; }
.call-sheet[data-state="connected"] { background: #f0fff4; }
.call-status { margin: 0; font-weight: 600; }
.call-sheet[data-state="unavailable"] .call-status, .call-sheet[data-state="mic_denied"] .call-status { color: #9a3412; font-weight: 500; }
.call-queue { margin: 0; color: #0969da; font-size: 14px; }
.call-timer { font-variant-numeric: tabular-nums; color: #59636e; font-size: 13px; }
.call-prompt { margin: 0; padding: 8px 10px; background: #f6f8fa; border-radius: 8px; font-size: 13px; }
.call-controls { display: flex; gap: 8px; }
.call-controls button, .call-fallback button, .call-keypad button { border: 1px solid #d0d7de; background: #fff;
  border-radius: 8px; padding: 7px 12px; font-size: 14px; }
.call-controls button[aria-pressed="true"] { background: #ddf4ff; border-color: #0969da; }
.call-controls .hangup { background: #d1242f; border-color: #d1242f; color: #fff; margin-left: auto; }
.call-keypad { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px; }
.call-keypad button { font-size: 18px; padding: 8px 0; font-variant-numeric: tabular-nums; }
.call-fallback { display: flex; gap: 8px; flex-wrap: wrap; }
.call-fallback .primary { background: var(--kefu-brand); border-color: var(--kefu-brand); color: #fff; }
`;
