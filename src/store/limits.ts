// Limits of the message format, shared by the mesh (which enforces them on new messages) and
// the legacy import (which reports old messages that break them).
export const MESSAGE_TYPES = ['handoff', 'question', 'result', 'alert', 'request_help'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** 64 KiB of UTF-8. */
export const MAX_PAYLOAD_BYTES = 65_536;
