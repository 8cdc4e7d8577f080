/**
 * The order's conversation: messages in seq order, who has read each (from
 * the order's read marks and live `read` events), posts still waiting in the
 * outbox, and a send box. Messages go through the client's outbox, so one
 * written offline is sent once the connection is back.
 */
import type { OrderEvent } from '../../../shared/domain/model';
import { TEXT_MAX } from '../../../shared/domain/schemas';
import type { WaypostClient } from '../../sdk/client';
import type { OutboxItem } from '../../sdk/outbox';
import { describeError } from '../api';
import { h, fill } from '../dom';
import { formatTime } from '../format';

export class Conversation {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly note: HTMLElement;
  private readonly form: HTMLFormElement;

  constructor(
    private readonly client: WaypostClient,
    private readonly orderId: string,
    private readonly me: string,
  ) {
    this.list = h('ol', { class: 'messages', 'aria-label': 'Messages, oldest first' });
    const id = `msg-input-${orderId}`;
    this.input = h('textarea', { id, name: 'text', rows: 2, maxlength: TEXT_MAX, required: true, placeholder: 'Write a message…' });
    this.note = h('p', { class: 'form-note', role: 'status', 'aria-live': 'polite' });
    const form = (this.form = h(
      'form',
      { class: 'send-box', onsubmit: (ev: Event) => this.send(ev) },
      h('label', { for: id }, 'Message'),
      this.input,
      h('button', { type: 'submit', class: 'primary' }, 'Send'),
      this.note,
    ));
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
    });
    this.el = h('div', { class: 'conversation' }, this.list, form);
  }

  /** The caller may no longer post here: keep the messages, drop the box to write one. */
  closeCompose(): void {
    this.form.hidden = true;
  }

  private send(ev: Event): void {
    ev.preventDefault();
    const text = this.input.value.trim();
    if (text === '') return;
    const offline = this.client.state !== 'open';
    let post: Promise<unknown>;
    try {
      post = this.client.message({ orderId: this.orderId, text });
    } catch (err) {
      this.note.textContent = describeError(err);
      return;
    }
    this.input.value = '';
    this.note.textContent = offline ? 'Saved: it will be sent when the connection is back.' : 'Sending…';
    post.then(
      () => {
        this.note.textContent = 'Sent.';
      },
      (err: unknown) => {
        this.note.textContent = `Not sent: ${describeError(err)}`;
      },
    );
  }

  update(events: readonly OrderEvent[], readMarks: Readonly<Record<string, number>>, queued: readonly OutboxItem[]): void {
    const messages = events.filter((e) => e.kind === 'message');
    const pending = queued.filter((q) => q.kind === 'message' && q.frame.orderId === this.orderId);
    if (messages.length === 0 && pending.length === 0) {
      fill(this.list, h('li', { class: 'muted' }, 'No messages yet.'));
      return;
    }
    fill(
      this.list,
      messages.map((m) => {
        const readers = Object.entries(readMarks)
          .filter(([who, seq]) => who !== m.actor.sub && seq >= m.seq)
          .map(([who]) => who)
          .sort();
        const mine = m.actor.sub === this.me;
        return h(
          'li',
          { class: `msg${mine ? ' mine' : ''}`, 'data-seq': m.seq },
          h('p', { class: 'msg-who' }, h('strong', null, mine ? 'You' : m.actor.sub), ` (${m.actor.role}) · `, h('time', { datetime: m.at }, formatTime(m.at))),
          m.text !== undefined ? h('p', { class: 'msg-text' }, m.text) : null,
          m.attachment
            ? h(
                'p',
                { class: 'msg-attachment' },
                'Attachment: ',
                m.attachment.kind === 'location'
                  ? `Location ${m.attachment.lat?.toFixed(5)}, ${m.attachment.lng?.toFixed(5)}`
                  : `${m.attachment.kind}: ${m.attachment.name ?? m.attachment.key ?? ''}`,
              )
            : null,
          h('p', { class: 'msg-read' }, readers.length > 0 ? `✓✓ Read by ${readers.join(', ')}` : '✓ Not read yet'),
        );
      }),
      pending.map((p) =>
        h(
          'li',
          { class: 'msg mine pending' },
          h('p', { class: 'msg-who' }, h('strong', null, 'You'), ' · ', formatTime(p.queuedAt)),
          p.kind === 'message' && p.frame.text !== undefined ? h('p', { class: 'msg-text' }, p.frame.text) : null,
          h('p', { class: 'msg-read' }, '◔ Waiting to send'),
        ),
      ),
    );
  }
}
