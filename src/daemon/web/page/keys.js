// The key browser: the live keys matching the search box (/api/keys), each a
// toggle for its chart. Read again after each flush and as the search changes.
import { getJson } from './api.js';

/** Keys one answer lists (the API's default; its cap is 1000). */
const LIMIT = 200;
/** ms the search waits for typing to stop. */
const DEBOUNCE_MS = 150;

export class KeyBrowser {
  #input;
  #count;
  #list;
  #onToggle;
  #isChosen;
  #timer = 0;
  #asked = 0;

  /** `onToggle(key, kind)` when a key is clicked; `isChosen(key, kind)` marks the charted ones. */
  constructor({ input, count, list, onToggle, isChosen, onError }) {
    this.#input = input;
    this.#count = count;
    this.#list = list;
    this.#onToggle = onToggle;
    this.#isChosen = isChosen;
    this.onError = onError;
    input.addEventListener('input', () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.load().catch(this.onError), DEBOUNCE_MS);
    });
    list.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-key]');
      if (!button) return;
      this.#onToggle(button.dataset.key, button.dataset.kind);
      this.mark();
    });
  }

  /** Reads the keys matching the search box now; a later call's answer wins over an earlier one's. */
  async load() {
    const asked = ++this.#asked;
    const q = new URLSearchParams({ q: this.#input.value.trim(), limit: String(LIMIT) });
    const found = await getJson(`/api/keys?${q}`);
    if (asked !== this.#asked) return;
    this.#render(found);
  }

  /** Marks the charted keys pressed. */
  mark() {
    for (const button of this.#list.querySelectorAll('button[data-key]')) {
      button.setAttribute('aria-pressed', String(this.#isChosen(button.dataset.key, button.dataset.kind)));
    }
  }

  #render({ keys, matched, total }) {
    const first = keys.length < matched ? `first ${keys.length} of ` : '';
    this.#count.textContent = this.#input.value.trim() ? `${first}${matched} matching, of ${total} keys` : `${first}${total} keys`;
    const items = keys.map(({ key, kind }) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.key = key;
      button.dataset.kind = kind;
      const name = document.createElement('span');
      name.className = 'key';
      name.textContent = key;
      const badge = document.createElement('span');
      badge.className = 'kind';
      badge.textContent = kind;
      button.append(name, badge);
      li.append(button);
      return li;
    });
    this.#list.replaceChildren(...items);
    this.mark();
  }
}
