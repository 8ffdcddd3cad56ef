// What the dashboard shows besides backends: recent errors, requests per second (10 s window) and spend today.
import { periodsOf } from '../keys/store.ts';

export interface RecentError {
  at: string;
  requestId: string;
  status: number | string;
  message: string;
}

const WINDOW_MS = 10_000;

export class ActivityTracker {
  readonly recentErrors: RecentError[] = [];
  private readonly requestTimes: number[] = [];
  private spendToday = { day: '', usd: 0 };

  constructor(private readonly clock: () => number) {}

  noteError(requestId: string, status: number | string, message: string): void {
    this.recentErrors.unshift({ at: new Date(this.clock()).toISOString(), requestId, status, message });
    if (this.recentErrors.length > 20) this.recentErrors.length = 20;
  }

  noteRequest(): void {
    const now = this.clock();
    this.requestTimes.push(now);
    this.trim(now);
    if (this.requestTimes.length > 100_000) this.requestTimes.splice(0, this.requestTimes.length - 100_000);
  }

  requestsPerSecond(): number {
    this.trim(this.clock());
    return this.requestTimes.length / (WINDOW_MS / 1000);
  }

  addSpend(usd: number): void {
    const day = periodsOf(this.clock()).day;
    if (this.spendToday.day !== day) this.spendToday = { day, usd: 0 };
    this.spendToday.usd += usd;
  }

  spentTodayUsd(): number {
    return this.spendToday.day === periodsOf(this.clock()).day ? this.spendToday.usd : 0;
  }

  private trim(now: number): void {
    while (this.requestTimes.length > 0 && (this.requestTimes[0] as number) < now - WINDOW_MS)
      this.requestTimes.shift();
  }
}
