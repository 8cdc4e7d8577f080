/**
 * The Waypost console: sign in, then the view of the token's role
 * (dispatcher board, retailer orders, driver deliveries) and order pages,
 * all over one live client (web/sdk). Hash routes: `#/`, `#/orders/<id>`.
 */
import { WaypostClient } from '../sdk/client';
import { WaypostHttp } from '../sdk/http';
import { loadEndpoints, type Endpoints } from './api';
import { connectionIndicator } from './components/connection';
import { startClock } from './components/status';
import type { Ctx, View } from './context';
import { fill, h } from './dom';
import { clearSession, loadSession, outboxKey, saveSession, type Session } from './session';
import { dispatcherBoard } from './views/dispatcher';
import { driverView } from './views/driver';
import { orderPage } from './views/order';
import { retailerView } from './views/retailer';
import { signInView } from './views/signin';

const HOME: Record<Session['claims']['role'], View> = {
  dispatcher: dispatcherBoard,
  retailer: retailerView,
  driver: driverView,
};

const ROLE_TITLE: Record<Session['claims']['role'], string> = {
  dispatcher: 'Dispatch',
  retailer: 'Retailer',
  driver: 'Driver',
};

let endpoints: Endpoints;
let stopApp: (() => void) | undefined;

function elements(): { main: HTMLElement; bar: HTMLElement } {
  const main = document.getElementById('main');
  const bar = document.getElementById('bar');
  if (!main || !bar) throw new Error('index.html lacks #main or #bar');
  return { main, bar };
}

function showSignIn(message?: string): void {
  stopApp?.();
  stopApp = undefined;
  const { main, bar } = elements();
  fill(bar);
  document.title = 'Sign in · Waypost';
  signInView(
    main,
    endpoints.httpBase,
    (token) => {
      try {
        // A deep link (`#/orders/<id>`) opened before signing in is honoured.
        startApp(saveSession(token), true);
      } catch (err) {
        showSignIn(err instanceof Error ? err.message : String(err));
      }
    },
    message,
  );
}

function startApp(session: Session, focusHeading = false): void {
  const { main, bar } = elements();
  const { claims } = session;
  const signOut = (message?: string) => {
    clearSession();
    history.replaceState(null, '', location.pathname);
    showSignIn(message);
  };
  const client = new WaypostClient({
    baseUrl: endpoints.httpBase,
    ...(endpoints.wsUrl !== undefined && { wsUrl: endpoints.wsUrl }),
    token: session.token,
    storage: localStorage,
    outboxKey: outboxKey(claims),
    backoff: { initialMs: 300, maxMs: 5000 },
  });
  const api = new WaypostHttp({
    baseUrl: endpoints.httpBase,
    token: session.token,
    onUnauthorized: () => signOut('The server refused your token (401). Sign in again.'),
  });
  const ctx: Ctx = { session, client, api, endpoints };

  const indicator = connectionIndicator(client);
  const signOutButton = h('button', { type: 'button', class: 'link-button' }, 'Sign out');
  signOutButton.addEventListener('click', () => {
    const waiting = client.queued.length;
    if (waiting > 0 && !confirm(`${waiting} post${waiting === 1 ? ' is' : 's are'} still waiting to be sent. They stay on this device and go out next time ${claims.sub} signs in here. Sign out?`)) return;
    signOut();
  });
  fill(
    bar,
    h('span', { class: 'bar-role' }, ROLE_TITLE[claims.role]),
    indicator.el,
    h(
      'p',
      { class: 'who' },
      h('span', { class: 'who-name' }, claims.sub),
      h('span', { class: 'who-meta' }, ` · ${claims.role}${claims.retailerId ? ` of ${claims.retailerId}` : ''} · ${claims.tenant}`),
    ),
    signOutButton,
  );

  // The browser knows about the network before the socket does: act on it.
  const onOffline = () => client.reconnectNow();
  const onOnline = () => void client.connect();
  window.addEventListener('offline', onOffline);
  window.addEventListener('online', onOnline);
  const expiry = setTimeout(() => signOut('Your token expired. Sign in again.'), Math.min(2 ** 31 - 1, Math.max(0, claims.exp * 1000 - Date.now())));

  let stopView: (() => void) | undefined;
  let first = !focusHeading;
  const route = () => {
    stopView?.();
    const m = /^#\/orders\/(.+)$/.exec(location.hash);
    const orderId = m ? decodeURIComponent(m[1]!) : undefined;
    document.title = orderId ? `Order ${orderId} · Waypost` : `${ROLE_TITLE[claims.role]} · Waypost`;
    stopView = (orderId !== undefined ? orderPage(orderId) : HOME[claims.role])(ctx, main);
    // After navigating, put keyboard and screen-reader focus on the new page's heading.
    if (!first) main.querySelector<HTMLElement>('h1')?.focus();
    first = false;
  };
  window.addEventListener('hashchange', route);
  route();
  void client.connect();

  stopApp = () => {
    window.removeEventListener('hashchange', route);
    window.removeEventListener('offline', onOffline);
    window.removeEventListener('online', onOnline);
    clearTimeout(expiry);
    stopView?.();
    indicator.stop();
    client.close();
  };
}

async function boot(): Promise<void> {
  startClock();
  endpoints = await loadEndpoints();
  const session = loadSession();
  if (session) startApp(session);
  else showSignIn();
}

void boot();
