// Searchable text of a message's Block Kit blocks and attachments, in Slack's mrkdwn token form, minus what `text` already says.

type Raw = Record<string, any>;

const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);
const arrayOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const stringOf = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Plain text put into mrkdwn form, so the enrich stage's one pass over tokens and entities reads it back unchanged. */
const escapeMrkdwn = (text: string): string =>
  /[&<>]/.test(text) ? text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : text;

/** A composition text object (`{type: 'mrkdwn' | 'plain_text', text}`) as mrkdwn. */
function textObject(value: unknown): string {
  if (!isObject(value)) return '';
  const text = stringOf(value.text);
  return value.type === 'mrkdwn' ? text : escapeMrkdwn(text);
}

/** One rich text element (text, link, user, channel, usergroup, broadcast, emoji, date, team, color) as mrkdwn. */
function richTextElement(element: unknown): string {
  if (!isObject(element)) return '';
  switch (element.type) {
    case 'text':
      return escapeMrkdwn(stringOf(element.text));
    case 'link': {
      const url = escapeMrkdwn(stringOf(element.url));
      const label = stringOf(element.text);
      return label === '' || label === element.url ? `<${url}>` : `<${url}|${escapeMrkdwn(label)}>`;
    }
    case 'user':
      return `<@${stringOf(element.user_id)}>`;
    case 'channel':
      return `<#${stringOf(element.channel_id)}>`;
    case 'usergroup':
      return `<!subteam^${stringOf(element.usergroup_id)}>`;
    case 'broadcast':
      return `<!${stringOf(element.range)}>`;
    case 'team':
      return stringOf(element.team_id);
    case 'emoji':
      return `:${stringOf(element.name)}:`;
    case 'color':
      return stringOf(element.value);
    case 'date': {
      const timestamp = Number(element.timestamp);
      const fallback =
        stringOf(element.fallback) || (Number.isFinite(timestamp) ? new Date(timestamp * 1000).toISOString().slice(0, 10) : '');
      return `<!date^${Number.isFinite(timestamp) ? timestamp : ''}^${stringOf(element.format)}|${escapeMrkdwn(fallback)}>`;
    }
    default:
      return escapeMrkdwn(stringOf(element.text));
  }
}

/** The inline elements of a rich_text_section / _quote / _preformatted, joined. */
function richTextRun(container: Raw): string {
  let text = '';
  for (const element of arrayOf(container.elements)) text += richTextElement(element);
  return text.trim();
}

/** Paragraphs of one rich_text block: a section, quote or preformatted run each, every list item on its own. */
function richTextParagraphs(block: Raw, out: string[]): void {
  for (const child of arrayOf(block.elements)) {
    if (!isObject(child)) continue;
    if (child.type === 'rich_text_list') {
      for (const item of arrayOf(child.elements)) if (isObject(item)) out.push(richTextRun(item));
    } else {
      out.push(richTextRun(child));
    }
  }
}

/**
 * Text-bearing parts of Block Kit blocks, in order, as mrkdwn paragraphs: rich_text (every section, list item,
 * quote, preformatted run), section text and fields, header, context texts, markdown, image and video titles,
 * video descriptions, table cells. Interactive elements (buttons, menus, inputs) are not content and are skipped.
 * The shapes Slack documents nest a fixed number of levels, so this is loops, never recursion: hostile nesting
 * cannot overflow the stack, it is simply not content.
 */
export function blockParagraphs(blocks: unknown): string[] {
  const out: string[] = [];
  for (const block of arrayOf(blocks)) {
    if (!isObject(block)) continue;
    switch (block.type) {
      case 'rich_text':
        richTextParagraphs(block, out);
        break;
      case 'section':
        out.push(textObject(block.text));
        for (const field of arrayOf(block.fields)) out.push(textObject(field));
        break;
      case 'header':
        out.push(textObject(block.text));
        break;
      case 'context':
        for (const element of arrayOf(block.elements)) if (isObject(element) && element.type !== 'image') out.push(textObject(element));
        break;
      case 'markdown':
        out.push(escapeMrkdwn(stringOf(block.text)));
        break;
      case 'image':
        out.push(textObject(block.title));
        break;
      case 'video':
        out.push(textObject(block.title), textObject(block.description));
        break;
      case 'table':
        for (const row of arrayOf(block.rows)) {
          const cells: string[] = [];
          for (const cell of arrayOf(row)) {
            if (!isObject(cell)) continue;
            if (cell.type === 'rich_text') {
              const parts: string[] = [];
              richTextParagraphs(cell, parts);
              cells.push(parts.join(' '));
            } else cells.push(escapeMrkdwn(stringOf(cell.text)));
          }
          out.push(cells.filter((cell) => cell !== '').join(' | '));
        }
        break;
      default:
        break;
    }
  }
  return out.filter((paragraph) => paragraph !== '');
}

/**
 * Text-bearing parts of legacy attachments and link unfurls, in display order: pretext, author, service (unfurls),
 * title, text, fields as "title: value", their blocks, footer; the fallback only when nothing else is there (it is the
 * plain summary of the rest). URLs are left out: the message text carries the link that was unfurled.
 */
export function attachmentParagraphs(attachments: unknown): string[] {
  const out: string[] = [];
  for (const attachment of arrayOf(attachments)) {
    if (!isObject(attachment)) continue;
    const parts: string[] = [
      stringOf(attachment.pretext),
      stringOf(attachment.author_name),
      stringOf(attachment.service_name),
      stringOf(attachment.title),
      stringOf(attachment.text),
    ];
    for (const field of arrayOf(attachment.fields)) {
      if (!isObject(field)) continue;
      const title = stringOf(field.title);
      const value = stringOf(field.value);
      parts.push(title !== '' && value !== '' ? `${title}: ${value}` : title || value);
    }
    parts.push(...blockParagraphs(attachment.blocks), stringOf(attachment.footer));
    const present = parts.map((part) => part.trim()).filter((part) => part !== '');
    if (present.length === 0) {
      const fallback = stringOf(attachment.fallback).trim();
      if (fallback !== '') present.push(fallback);
    }
    out.push(...present);
  }
  return out;
}

/** What a mrkdwn token says, for comparing: ids for mentions, the label of a date, URL and label of a link. */
function tokenWords(body: string): string {
  const bar = body.indexOf('|');
  const target = bar === -1 ? body : body.slice(0, bar);
  const label = bar === -1 ? '' : body.slice(bar + 1);
  switch (body.charAt(0)) {
    case '@':
    case '#':
      return ` ${target} `;
    case '!':
      return target.startsWith('!date^') ? ` ${label} ` : ` ${target} `;
    default:
      return ` ${target} ${label} `;
  }
}

const wordPattern = /[\p{L}\p{N}]+/gu;

/**
 * Words of mrkdwn text as one space-separated lowercase string: tokens reduced to what they say, entities and
 * formatting (`*bold*`, `_italic_`, `> quotes`, bullets, code fences) gone. Two texts saying the same thing in
 * different markup give the same words.
 */
export function wordsOf(mrkdwn: string): string {
  const plain = mrkdwn.replace(/<([^<>]*)>/g, (_match, body: string) => tokenWords(body)).replace(/&(?:lt|gt|amp);/g, ' ');
  return (plain.toLowerCase().match(wordPattern) ?? []).join(' ');
}

/**
 * The paragraphs that add something: a paragraph whose words already appear, in order, in `text` or in an earlier
 * paragraph is dropped (rich_text blocks usually mirror `text` exactly; an attachment's fallback repeats its title).
 */
export function newParagraphs(paragraphs: readonly string[], text: string): string[] {
  if (paragraphs.length === 0) return [];
  // The words of `text` and of the paragraphs kept, computed when first needed.
  let known: string | null = null;
  const kept: string[] = [];
  for (const paragraph of paragraphs) {
    // A paragraph equal to `text` (a rich_text block mirroring it: 97 % of messages with blocks) adds nothing.
    if (paragraph === text) continue;
    known ??= ` ${wordsOf(text)} `;
    const words = wordsOf(paragraph);
    if (words === '' || known.includes(` ${words} `)) continue;
    kept.push(paragraph);
    known += `${words} `;
  }
  return kept;
}

/** Slack's placeholder `text` for a message whose content exists only in blocks. */
const placeholderTexts = new Set(['', "This content can't be displayed."]);

export interface SearchableText {
  /** Slack's `text`, or the blocks' text when Slack's is empty or its placeholder. */
  text: string;
  /** Block text that `text` does not already carry; null when there is none. */
  blocksText: string | null;
  /** Attachment and unfurl text that neither `text` nor the blocks carry; null when there is none. */
  attachmentsText: string | null;
}

export function searchableText(message: Raw): SearchableText {
  const slackText = typeof message.text === 'string' ? message.text : '';
  const blocks = blockParagraphs(message.blocks);
  let text = slackText;
  let blocksText: string | null = null;
  if (placeholderTexts.has(slackText.trim()) && blocks.length > 0) {
    text = newParagraphs(blocks, '').join('\n');
  } else {
    const added = newParagraphs(blocks, slackText);
    if (added.length > 0) blocksText = added.join('\n');
  }
  const attachments = newParagraphs(attachmentParagraphs(message.attachments), `${text}\n${blocksText ?? ''}`);
  return { text, blocksText, attachmentsText: attachments.length > 0 ? attachments.join('\n') : null };
}
