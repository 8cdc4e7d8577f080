/**
 * Post a checkpoint: only the statuses allowed from the current one (the
 * current one itself as a progress update), the reason or proof the chosen
 * status requires, a note, and the device's position when the browser grants
 * it. Posts go through the client's outbox: offline, they wait and are sent
 * in order once the connection is back.
 */
import type { Location } from '../../../shared/domain/schemas';
import { RECIPIENT_TYPES } from '../../../shared/domain/schemas';
import { allowedNext, STATUS_TABLE, type Status } from '../../../shared/domain/statuses';
import type { CheckpointInput, WaypostClient } from '../../sdk/client';
import { describeError } from '../api';
import { h } from '../dom';
import { formatPlace, statusIcon, statusLabel } from '../format';

const RECIPIENT_LABEL: Record<(typeof RECIPIENT_TYPES)[number], string> = {
  self: 'The recipient',
  proxy: 'Someone on their behalf',
  locker: 'A parcel locker',
  neighbor: 'A neighbour',
};

/** The device's position, if the browser has (or is given) permission; never waits more than a few seconds. */
async function devicePosition(): Promise<Location | undefined> {
  if (!('geolocation' in navigator)) return undefined;
  try {
    const perm = await navigator.permissions?.query({ name: 'geolocation' });
    if (perm?.state === 'denied') return undefined;
  } catch {
    // no Permissions API: just ask
  }
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) =>
        resolve({
          lat: Math.round(p.coords.latitude * 1e6) / 1e6,
          lng: Math.round(p.coords.longitude * 1e6) / 1e6,
          ...(Number.isFinite(p.coords.accuracy) && p.coords.accuracy >= 0 && { accuracyM: Math.round(p.coords.accuracy) }),
        }),
      () => resolve(undefined),
      { timeout: 5000, maximumAge: 30_000, enableHighAccuracy: true },
    );
  });
}

let formCount = 0;

export class CheckpointForm {
  readonly el: HTMLElement;
  private current: Status | undefined;
  private readonly select: HTMLSelectElement;
  private readonly reasonRow: HTMLElement;
  private readonly reason: HTMLTextAreaElement;
  private readonly proofSet: HTMLFieldSetElement;
  private readonly recipientType: HTMLSelectElement;
  private readonly recipientName: HTMLInputElement;
  private readonly note: HTMLTextAreaElement;
  private readonly useLocation: HTMLInputElement;
  private readonly locationHint: HTMLElement;
  private readonly output: HTMLElement;
  private readonly submit: HTMLButtonElement;

  constructor(
    private readonly client: WaypostClient,
    private readonly orderId: string,
    /** Which of the allowed statuses this user may post (a retailer: cancel and follow up only). */
    private readonly mayPost: (s: Status, from: Status) => boolean = () => true,
  ) {
    const n = ++formCount;
    const id = (x: string) => `cp${n}-${x}`;
    this.select = h('select', { id: id('status'), name: 'status', required: true, onchange: () => this.syncFields() });
    this.reason = h('textarea', { id: id('reason'), name: 'reason', rows: 2, maxlength: 1000 });
    this.reasonRow = h('div', { class: 'row' }, h('label', { for: id('reason') }, 'Reason (required)'), this.reason);
    this.recipientType = h(
      'select',
      { id: id('rtype'), name: 'recipientType' },
      RECIPIENT_TYPES.map((t) => h('option', { value: t }, RECIPIENT_LABEL[t])),
    );
    this.recipientName = h('input', { id: id('rname'), name: 'recipientName', type: 'text', maxlength: 200, autocomplete: 'off' });
    this.proofSet = h(
      'fieldset',
      { class: 'proof' },
      h('legend', null, 'Proof of delivery (required)'),
      h('div', { class: 'row' }, h('label', { for: id('rtype') }, 'Handed to'), this.recipientType),
      h('div', { class: 'row' }, h('label', { for: id('rname') }, 'Name of who took it (optional)'), this.recipientName),
    );
    this.note = h('textarea', { id: id('note'), name: 'note', rows: 2, maxlength: 4000 });
    this.useLocation = h('input', { id: id('loc'), type: 'checkbox', name: 'useLocation', checked: true });
    this.locationHint = h('span', { class: 'hint' });
    this.output = h('p', { class: 'form-note', role: 'status', 'aria-live': 'polite', 'data-testid': 'checkpoint-result' });
    this.submit = h('button', { type: 'submit', class: 'primary' }, 'Post checkpoint');
    this.el = h(
      'form',
      { class: 'checkpoint-form', onsubmit: (ev: Event) => void this.post(ev) },
      h('div', { class: 'row' }, h('label', { for: id('status') }, 'New status'), this.select),
      this.reasonRow,
      this.proofSet,
      h('div', { class: 'row' }, h('label', { for: id('note') }, 'Note (optional)'), this.note),
      h('div', { class: 'row check' }, this.useLocation, h('label', { for: id('loc') }, 'Attach my location'), this.locationHint),
      this.submit,
      this.output,
    );
    void this.describePermission();
    this.syncFields();
  }

  private async describePermission(): Promise<void> {
    if (!('geolocation' in navigator)) {
      this.locationHint.textContent = ' (not available on this device)';
      this.useLocation.checked = false;
      this.useLocation.disabled = true;
      return;
    }
    try {
      const perm = await navigator.permissions?.query({ name: 'geolocation' });
      if (perm) {
        const show = () => {
          this.locationHint.textContent = perm.state === 'granted' ? ' (allowed)' : perm.state === 'denied' ? ' (blocked in the browser)' : ' (the browser will ask)';
        };
        show();
        perm.onchange = show;
      }
    } catch {
      // fine: no hint
    }
  }

  /** The order's status as this form should start from (the outbox's last queued status, if any). */
  setStatus(current: Status): void {
    if (current === this.current) return;
    this.current = current;
    const previous = this.select.value;
    const options = allowedNext(current).filter((s) => this.mayPost(s, current));
    this.select.replaceChildren(
      ...options.map((s) =>
        h(
          'option',
          { value: s },
          s === current ? `${statusIcon(s)} Progress update (still ${statusLabel(s).toLowerCase()})` : `${statusIcon(s)} ${statusLabel(s)}`,
        ),
      ),
    );
    // Default to the first real move: what a driver does next most of the time.
    const fallback = options.find((s) => s !== current) ?? options[0];
    this.select.value = options.includes(previous as Status) && previous !== current ? previous : (fallback ?? '');
    this.submit.disabled = options.length === 0;
    if (options.length === 0) this.output.textContent = `This order is ${statusLabel(current).toLowerCase()}: nothing more to post.`;
    this.syncFields();
  }

  private syncFields(): void {
    const s = this.select.value as Status;
    const needs = s in STATUS_TABLE ? STATUS_TABLE[s].requires : [];
    const reason = needs.includes('reason');
    const proof = needs.includes('proof');
    this.reasonRow.hidden = !reason;
    this.reason.required = reason;
    this.proofSet.hidden = !proof;
    this.proofSet.disabled = !proof;
  }

  private async post(ev: Event): Promise<void> {
    ev.preventDefault();
    const status = this.select.value as Status;
    if (!(status in STATUS_TABLE)) return;
    const needs = STATUS_TABLE[status].requires;
    this.submit.disabled = true;
    this.output.textContent = this.useLocation.checked ? 'Getting your location…' : 'Posting…';
    try {
      const location = this.useLocation.checked ? await devicePosition() : undefined;
      const note = this.note.value.trim();
      const input = {
        orderId: this.orderId,
        status,
        occurredAt: new Date().toISOString(),
        ...(location && { location }),
        ...(note !== '' && { note }),
        ...(needs.includes('reason') && { reason: this.reason.value.trim() }),
        ...(needs.includes('proof') && {
          proof: {
            recipientType: this.recipientType.value,
            ...(this.recipientName.value.trim() !== '' && { recipientName: this.recipientName.value.trim() }),
          },
        }),
      } as CheckpointInput;
      const offline = this.client.state !== 'open';
      const acked = this.client.checkpoint(input);
      const where = location ? ` at ${formatPlace(location)}` : '';
      this.output.textContent = offline
        ? `Saved offline: ${statusLabel(status)}${where} will be sent when the connection is back.`
        : `Posting ${statusLabel(status)}${where}…`;
      this.note.value = '';
      this.reason.value = '';
      this.recipientName.value = '';
      acked.then(
        (ack) => {
          this.output.textContent =
            ack.applied === false
              ? `${statusLabel(status)} recorded late (#${ack.seq}${ack.duplicate ? ', already there' : ''}): it happened before the order was ${statusLabel(ack.status).toLowerCase()}, so the status did not change.`
              : `${statusLabel(status)} recorded (#${ack.seq}${ack.duplicate ? ', already there' : ''}).`;
        },
        (err: unknown) => {
          this.output.textContent = `${statusLabel(status)} was refused: ${describeError(err)}`;
        },
      );
    } catch (err) {
      this.output.textContent = describeError(err);
    } finally {
      this.submit.disabled = this.select.options.length === 0;
    }
  }
}
