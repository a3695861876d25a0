// What reads a message before it is stored (README, "Off-platform contact details, moderation
// hook, spam"): the contact-detail policy, the optional pre-send hook and the duplicate-content
// rule, as configured. Part of the composition root (app.ts).
import type { Config } from "../config/config.js";
import { SendModerator } from "../chat/send-moderation.js";
import type { DuplicateCounter } from "../cluster/duplicate-counter.js";
import type { ModerationFlagRepository } from "../db/moderation-flag-repository.js";
import { ModerationHook } from "../webhooks/moderation-hook.js";

export interface SendModeratorDeps {
  duplicates: DuplicateCounter;
  flags: ModerationFlagRepository;
  onSpamRefused: () => void;
  onHookFailure: (err: Error) => void;
  onBackgroundError: (err: unknown, what: string) => void;
}

export function buildSendModerator(config: Config, deps: SendModeratorDeps): SendModerator {
  return new SendModerator({
    policy: config.CONTACT_INFO_POLICY,
    allowedDomains: config.CONTACT_INFO_ALLOWED_DOMAINS,
    ...(config.MODERATION_URL
      ? {
          hook: new ModerationHook({
            url: config.MODERATION_URL,
            secret: (config.MODERATION_SECRET ?? config.WEBHOOK_SECRET)!,
            timeoutMs: config.MODERATION_TIMEOUT_MS,
            failClosed: config.MODERATION_FAIL === "closed",
            onFailure: deps.onHookFailure,
          }),
        }
      : {}),
    ...(config.SPAM_DUPLICATE_LIMIT !== null
      ? {
          spam: {
            counter: deps.duplicates,
            limit: config.SPAM_DUPLICATE_LIMIT,
            windowMs: config.SPAM_DUPLICATE_WINDOW_MS,
            minChars: config.SPAM_MIN_CHARS,
          },
        }
      : {}),
    flags: deps.flags,
    onSpamRefused: deps.onSpamRefused,
    onBackgroundError: deps.onBackgroundError,
  });
}
