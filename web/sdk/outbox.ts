/**
 * The posts a client has made but not yet seen acked, oldest first, kept in a
 * storage (the browser's `localStorage`) so a reload does not lose them. Each
 * carries its client-made id, so sending it again is safe: the server stores
 * it once and acks a replay as a duplicate.
 */
import type { CheckpointFrame, MessageFrame } from '../../shared/domain/schemas';

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
