// Slack's 2025 limits for non-Marketplace apps: evidence for and against them, and history/replies paced at Tier 1 while they apply.

import type { Logger } from '../../log.js';
import type { Pacers } from './pacer.js';

/** The 2025 regime's page size for history and replies (non-Marketplace apps). */
const restrictedPageSize = 15;
const restrictedMethods = new Set(['conversations.history', 'conversations.replies']);
/** Pages of exactly 15 with a cursor, in a row, that make the regime certain (one alone is a normal short page). */
const restrictedPagesEvidence = 3;
/** 429s in a row on history/replies with a Retry-After this long that make the regime certain. */
export const longRetryAfterSeconds = 30;
const restrictedRateLimitEvidence = 2;
/** Entered on 429s alone: after this many answers in a row without a 429 or a 15-page, try full speed again. */
const restrictedProbeAfter = 10;

export class RestrictedRegime {
  private restricted: { since: 'pages' | 'rate-limits'; cleanAnswers: number } | null = null;
  private restrictedPages = 0;
  private longRateLimits = 0;
  /** Times the client switched into the regime (it leaves when the evidence stops). */
  timesEntered = 0;

  constructor(
    private readonly pacers: Pacers,
    private readonly logger: Logger,
  ) {}

  /** A 429 on `method`: long Retry-Afters on history/replies in a row are evidence of the regime. */
  noticeRateLimit(method: string, retryAfter: number | undefined): void {
    if (restrictedMethods.has(method) && retryAfter !== undefined && retryAfter >= longRetryAfterSeconds) {
      this.longRateLimits++;
      if (this.restricted) this.restricted.cleanAnswers = 0;
      else if (this.longRateLimits >= restrictedRateLimitEvidence)
        this.enterRestricted(
          method,
          `${this.longRateLimits} rate limits in a row with Retry-After ≥ ${longRetryAfterSeconds} s`,
          'rate-limits',
        );
    }
  }

  /** Weighs a history/replies page as evidence for or against the restricted regime. */
  noticeAnswer(method: string, params: Record<string, unknown>, answer: Record<string, any>): void {
    if (!restrictedMethods.has(method)) return;
    this.longRateLimits = 0;
    const asked = Number(params.limit ?? 0);
    const got = Array.isArray(answer.messages) ? answer.messages.length : 0;
    const more = Boolean(answer.response_metadata?.next_cursor) && answer.has_more !== false;
    // Replies put the parent first on every page, so a restricted page of replies holds 15 with it.
    const cappedAtRestrictedSize = more && asked > restrictedPageSize && got === restrictedPageSize;
    if (got > restrictedPageSize) {
      this.restrictedPages = 0;
      if (this.restricted) this.leaveRestricted(`${method} returned a page of ${got} items`);
      return;
    }
    if (cappedAtRestrictedSize) {
      this.restrictedPages++;
      if (this.restricted) this.restricted.cleanAnswers = 0;
      else if (this.restrictedPages >= restrictedPagesEvidence)
        this.enterRestricted(method, `${this.restrictedPages} pages in a row of ${restrictedPageSize} items with more to come`, 'pages');
      return;
    }
    if (more) this.restrictedPages = 0;
    if (this.restricted?.since === 'rate-limits' && ++this.restricted.cleanAnswers >= restrictedProbeAfter) {
      this.leaveRestricted(`${restrictedProbeAfter} answers in a row without a rate limit or a ${restrictedPageSize}-item page`);
    }
  }

  private enterRestricted(method: string, evidence: string, since: 'pages' | 'rate-limits'): void {
    this.restricted = { since, cleanAnswers: 0 };
    this.timesEntered++;
    // Both methods are restricted together: pace them at Tier 1 instead of bouncing off 429s.
    for (const restrictedMethod of restrictedMethods) this.pacers.slowToTier(restrictedMethod, 1);
    this.logger.warn(
      `Slack is applying its 2025 limits for non-Marketplace apps to ${method} (${evidence}): reading history and replies at ` +
        '1 request per minute, 15 messages per page, until that stops; a Marketplace-approved or internal app avoids it',
    );
  }

  private leaveRestricted(evidence: string): void {
    this.restricted = null;
    this.restrictedPages = 0;
    this.longRateLimits = 0;
    for (const restrictedMethod of restrictedMethods) this.pacers.restoreTier(restrictedMethod);
    this.logger.warn(`Slack's restricted limits no longer apply (${evidence}): history and replies back at their usual pace`);
  }
}
