/**
 * Sign in: paste a token, or (on the local runtime) pick one of the seeded
 * demo users. The token's role picks the view; the server authorizes.
 */
import { h, fill } from '../dom';
import { decodeClaims } from '../session';

interface DemoUser {
  label: string;
  role: string;
  sub: string;
  tenant: string;
  retailerId?: string;
  token: string;
}

const ROLE_ICON: Record<string, string> = { dispatcher: '☷', retailer: '▦', driver: '➤' };

export function signInView(main: HTMLElement, httpBase: string, onToken: (token: string) => void, message?: string): void {
  const tokenInput = h('textarea', {
    id: 'token',
    name: 'token',
    rows: 4,
    required: true,
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: 'eyJhbGciOi…',
    'aria-describedby': 'token-help',
  });
  const error = h('p', { class: 'problem', role: 'alert', hidden: !message }, message ?? '');
  const demoList = h('ul', { class: 'demo-users' }, h('li', { class: 'muted' }, 'Looking for demo users…'));
  const demoSection = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'demo-h' },
    h('h2', { id: 'demo-h' }, 'Demo users'),
    h('p', { class: 'muted small' }, 'Seeded by the local runtime (npm start). Not available in the cloud.'),
    demoList,
  );

  const use = (token: string) => {
    try {
      decodeClaims(token);
    } catch (err) {
      error.hidden = false;
      error.textContent = err instanceof Error ? err.message : String(err);
      return;
    }
    onToken(token);
  };

  fill(
    main,
    h(
      'div',
      { class: 'page signin-page' },
      h('h1', { tabindex: '-1' }, 'Sign in to Waypost'),
      h('p', { class: 'lead' }, 'Drivers post checkpoints, retailers follow their orders, dispatchers watch the whole fleet. Your role decides what you see.'),
      error,
      h(
        'div',
        { class: 'signin-grid' },
        demoSection,
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'paste-h' },
          h('h2', { id: 'paste-h' }, 'Paste a token'),
          h(
            'form',
            {
              class: 'token-form',
              onsubmit: (ev: Event) => {
                ev.preventDefault();
                use(tokenInput.value.trim());
              },
            },
            h('label', { for: 'token' }, 'Token (JWT)'),
            tokenInput,
            h('p', { id: 'token-help', class: 'muted small' }, 'Mint one with ', h('code', null, 'npm run token -- --tenant demo --role driver --sub dora'), '. It is kept in this tab only (sessionStorage).'),
            h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
          ),
        ),
      ),
    ),
  );

  fetch(`${httpBase}/_local/demo-users`, { cache: 'no-store' })
    .then(async (res) => {
      if (!res.ok) throw new Error(String(res.status));
      const users = (await res.json()) as DemoUser[];
      if (!Array.isArray(users) || users.length === 0) throw new Error('none');
      fill(
        demoList,
        users.map((u) =>
          h(
            'li',
            null,
            h(
              'button',
              { type: 'button', class: 'demo-user', 'data-sub': u.sub, onclick: () => use(u.token) },
              h('span', { class: 'role-icon', 'aria-hidden': 'true' }, ROLE_ICON[u.role] ?? '•'),
              h('span', { class: 'demo-label' }, u.label),
              h('span', { class: 'demo-meta' }, `${u.role} · tenant ${u.tenant}`),
            ),
          ),
        ),
      );
    })
    .catch(() => {
      demoSection.hidden = true;
    });
}
