/**
 * The posts a client has made but not yet seen acked, oldest first, kept in a
 * storage (the browser's `localStorage`) so a reload does not lose them. Each
 * carries its client-made id, so sending it again is safe: the server stores
 * it once and acks a replay as a duplicate. The `OutboxCourier` sends them,
 * one at a time and in order, while the connection is open.
 */
import type { AckOf } from '../../shared/domain/protocol';
import type { CheckpointFrame, MessageFrame } from '../../shared/domain/schemas';
import { WaypostRequestError } from './requester';

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export type OutboxItem =
  | { readonly id: string; readonly kind: 'checkpoint'; readonly frame: CheckpointFrame; readonly queuedAt: string }
  | { readonly id: string; readonly kind: 'message'; readonly frame: MessageFrame; readonly queuedAt: string };

export class Outbox {
  private list: OutboxItem[];

  constructor(
    private readonly storage: KeyValueStorage | undefined,
    private readonly key: string,
  ) {
    this.list = this.load();
  }

  private load(): OutboxItem[] {
    const raw = this.storage?.getItem(this.key);
    if (raw == null) return [];
    try {
      const parsed: unknown = JSON.parse(raw);
      return Array.isArray(parsed) ? (parsed as OutboxItem[]) : [];
    } catch {
      return [];
    }
  }

  private save(): void {
    this.storage?.setItem(this.key, JSON.stringify(this.list));
  }

  items(): readonly OutboxItem[] {
    return [...this.list];
  }

  peek(): OutboxItem | undefined {
    return this.list[0];
  }

  push(item: OutboxItem): void {
    if (this.list.some((i) => i.id === item.id)) return;
    this.list.push(item);
    this.save();
  }

  remove(id: string): void {
    this.list = this.list.filter((i) => i.id !== id);
    this.save();
  }
}

/** What a courier needs from the client. */
export interface CourierHooks {
  /** Send one post and wait for its ack. */
  send(item: OutboxItem): Promise<AckOf<'checkpoint' | 'message'>>;
  isOpen(): boolean;
  /** How long to wait before sending a post again after a retryable failure, ms. */
  retryDelayMs(): number;
  /** The outbox changed (a post was queued or settled). */
  changed(items: readonly OutboxItem[]): void;
  delivered(item: OutboxItem, ack: AckOf<'checkpoint' | 'message'>): void;
  rejected(item: OutboxItem, error: WaypostRequestError): void;
}

/** Errors after which the same request may succeed later: the outbox keeps the post and retries. */
const RETRYABLE: ReadonlySet<string> = new Set(['INTERNAL', 'RATE_LIMITED', 'TIMEOUT', 'DISCONNECTED', 'UNAUTHORIZED']);

/**
 * Sends an outbox's posts one at a time, in order, while the connection is
 * open: an ack removes the post (`delivered`), a retryable failure
 * (`INTERNAL`, `RATE_LIMITED`, `TIMEOUT`, `DISCONNECTED`, `UNAUTHORIZED`)
 * keeps it and tries again after `retryDelayMs`, any other error removes it
 * (`rejected`). A post made in this session settles its promise with it.
 */
export class OutboxCourier {
  private draining = false;
  /** Promises of posts made in this session, settled when their outbox item is. */
  private readonly waiting = new Map<string, { resolve: (ack: AckOf<'checkpoint' | 'message'>) => void; reject: (e: WaypostRequestError) => void }>();

  constructor(
    private readonly outbox: Outbox,
    private readonly hooks: CourierHooks,
  ) {}

  items(): readonly OutboxItem[] {
    return this.outbox.items();
  }

  /** Queue a post and start sending; resolves with its ack, rejects with a non-retryable error. */
  post(item: OutboxItem): Promise<AckOf<'checkpoint' | 'message'>> {
    const settled = new Promise<AckOf<'checkpoint' | 'message'>>((resolve, reject) => this.waiting.set(item.id, { resolve, reject }));
    this.outbox.push(item);
    this.hooks.changed(this.outbox.items());
    this.drain();
    return settled;
  }

  /** Send what is queued, unless already sending (the connection opened, or a post was queued). */
  drain(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.hooks.isOpen()) {
        const item = this.outbox.peek();
        if (item === undefined) return;
        let ack: AckOf<'checkpoint' | 'message'>;
        try {
          ack = await this.hooks.send(item);
        } catch (err) {
          const error = err instanceof WaypostRequestError ? err : new WaypostRequestError('INTERNAL', String(err));
          if (RETRYABLE.has(error.code)) {
            if (this.hooks.isOpen()) await new Promise((r) => setTimeout(r, this.hooks.retryDelayMs()));
            continue;
          }
          this.settle(item);
          this.hooks.rejected(item, error);
          this.waiting.get(item.id)?.reject(error);
          this.waiting.delete(item.id);
          continue;
        }
        this.settle(item);
        this.hooks.delivered(item, ack);
        this.waiting.get(item.id)?.resolve(ack);
        this.waiting.delete(item.id);
      }
    } finally {
      this.draining = false;
    }
  }

  private settle(item: OutboxItem): void {
    this.outbox.remove(item.id);
    this.hooks.changed(this.outbox.items());
  }
}
