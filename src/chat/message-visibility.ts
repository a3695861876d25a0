// Who sees a message as it was sent. Contact details masked by the policy (README, "Off-platform
// contact details") are shown only to the message's sender and to admins; everyone else gets the
// masked text. Every path that hands a message to a person goes through messageFor(): HTTP
// answers (via the Presenter), socket deliveries (realtime/delivery.ts, per socket), search,
// notifications and webhooks.
import type { Principal } from "../auth/token-verifier.js";
import type { MessageView } from "../contract/shapes.js";

export interface Viewer {
  userId: string;
  admin: boolean;
}

export const viewerOf = (principal: Principal): Viewer => ({ userId: principal.userId, admin: principal.role === "admin" });

/** The admin's moderation views (reports, flags): every message as sent. */
export const ADMIN_VIEW: Viewer = { userId: "", admin: true };

/** The recipient of a webhook or a notification: never an admin view (it reaches a device). */
export const userViewer = (userId: string): Viewer => ({ userId, admin: false });

/**
 * A message as the rules hand it to the transports: `message` is the view everyone may see
 * (masked when the policy masked it); `original` is the content as sent, present only when it
 * differs, for the sender and admins. A transport that forgot to render would so show the masked
 * text, never the hidden one.
 */
export interface SharedMessage {
  message: MessageView;
  original?: string | null;
}

export function seesOriginal(senderId: string | null, viewer: Viewer): boolean {
  return viewer.admin || (senderId !== null && senderId === viewer.userId);
}

/** The one per-viewer rendering of a shared message. */
export function messageFor(shared: SharedMessage, viewer: Viewer): MessageView {
  if (shared.original === undefined || !seesOriginal(shared.message.senderId, viewer)) return shared.message;
  return { ...shared.message, content: shared.original };
}
