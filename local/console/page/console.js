// The local console's page: plain DOM, no framework, every value inserted as text (never as HTML). ES modules, one
// per page of the console; this one routes the location hash to them.
import { assetView } from './asset.js';
import { h } from './dom.js';
import { executionView } from './execution.js';
import { assetsView, executionsView, notificationsView } from './lists.js';
import { main, state } from './shell.js';

async function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const view = parts[0] || 'executions';
  window.__console.ready = false;
  if (state.player?.hls) {
    state.player.hls.destroy();
    state.player.hls = null;
  }
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.nav === view);
  try {
    if (view === 'executions' && parts[1]) await executionView(parts[1]);
    else if (view === 'notifications') await notificationsView();
    else if (view === 'assets' && parts[1]) await assetView(parts[1]);
    else if (view === 'assets') await assetsView();
    else await executionsView();
  } catch (e) {
    main.replaceChildren(
      h('div', { class: 'notice bad' }, h('b', {}, 'The console could not load this page'), e.message),
    );
  }
}
window.addEventListener('hashchange', route);
route();
