// What waits on the phone to be sent, why, and what was sent lately with its class and
// notice numbers.

import { classLabel, dateTime } from '../format.js';
import { extend, t } from '../i18n.js';
import { discard, flush, sent, waiting } from '../outbox.js';
import { h, mount, notice } from '../ui.js';

extend({
  zh: {
    'outbox.title': '待发送',
    'outbox.empty': '没有待发送的检查',
    'outbox.send': '立即发送',
    'outbox.waiting': '等待网络，联网后自动发送',
    'outbox.failed': '已尝试 {n} 次：{message}',
    'outbox.refused': '服务器拒收：{message}',
    'outbox.discard': '放弃此检查',
    'outbox.discard.confirm': '放弃后此检查将从本机删除，确定吗？',
    'outbox.findings': '{n} 项问题',
    'outbox.photos': '{n} 张照片',
    'outbox.verdicts': '复查 {n} 项',
    'outbox.sent': '最近已发送',
    'outbox.photo_errors': '{n} 张照片未被接收',
  },
  en: {
    'outbox.title': 'Waiting to be sent',
    'outbox.empty': 'Nothing is waiting to be sent',
    'outbox.send': 'Send now',
    'outbox.waiting': 'Waiting for the network; sent automatically',
    'outbox.failed': '{n} attempt(s) failed: {message}',
    'outbox.refused': 'Refused by the server: {message}',
    'outbox.discard': 'Discard this inspection',
    'outbox.discard.confirm': 'Discarding deletes this inspection from the phone. Continue?',
    'outbox.findings': '{n} finding(s)',
    'outbox.photos': '{n} photo(s)',
    'outbox.verdicts': '{n} re-inspected',
    'outbox.sent': 'Sent lately',
    'outbox.photo_errors': '{n} photo(s) not accepted',
  },
});

/** What an inspection waiting on the phone holds: its findings, the earlier findings it
 *  re-inspects (when it does), its photos. */
function summary(item) {
  const parts = [item.shelter, t('outbox.findings', { n: item.body.findings.length })];
  const verdicts = (item.body.verdicts || []).length;
  if (verdicts) parts.push(t('outbox.verdicts', { n: verdicts }));
  parts.push(t('outbox.photos', { n: item.photos.length }));
  return parts.join(' · ');
}

function waitingItem(item, refresh) {
  let status = t('outbox.waiting');
  if (item.state === 'refused') status = t('outbox.refused', { message: item.error.message });
  else if (item.error) {
    const reason = item.error.code === 'network' ? t('error.offline') : item.error.message;
    status = t('outbox.failed', { n: item.attempts, message: reason });
  }
  return h(
    'li.outbox-item',
    { dataset: { key: item.key, state: item.state } },
    h(
      'div.row',
      h('div.row-head', h('span.row-title', item.shelterName || item.shelter), h('span.small.muted', dateTime(item.createdAt))),
      h('div.small.outbox-summary', summary(item)),
      h(item.state === 'refused' ? 'p.small.overdue' : 'p.small', status),
      item.state === 'refused'
        ? h('button.danger', {
            type: 'button',
            onclick: async () => {
              if (window.confirm(t('outbox.discard.confirm'))) {
                await discard(item.key);
                refresh();
              }
            },
          }, t('outbox.discard'))
        : null,
    ),
  );
}

function sentItem(done) {
  const i = done.inspection;
  return h(
    'li.sent-item',
    h(
      'a',
      { href: `#/inspections/${i.id}` },
      h('div.row-head', h('span.row-title', done.shelterName || done.shelter), h(`span.pill.class-${i.graded_class}`, classLabel(i.graded_class))),
      h('div.small.muted', dateTime(done.sentAt)),
      i.followups.length ? h('div.small', i.followups.map((f) => f.number).join('，')) : null,
      done.photoErrors ? h('div.small.overdue', t('outbox.photo_errors', { n: done.photoErrors })) : null,
    ),
  );
}

export async function render(root) {
  const list = h('ul.list#outbox-list');
  const recent = h('ul.list#sent-list');
  const button = h('button.primary#send-now', { type: 'button' }, t('outbox.send'));

  async function refresh() {
    if (!root.isConnected) {
      window.removeEventListener('outboxchange', refresh);
      return;
    }
    const [items, done] = await Promise.all([waiting(), sent()]);
    mount(list, items.length ? items.map((i) => waitingItem(i, refresh)) : h('li', notice('info', t('outbox.empty'))));
    button.hidden = !items.some((i) => i.state === 'waiting');
    mount(recent, done.map(sentItem));
    recent.previousElementSibling.hidden = !done.length;
  }

  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await flush({ force: true });
    } finally {
      button.disabled = false;
    }
  });
  mount(root, h('h1', t('outbox.title')), list, h('div.actions', button), h('h2', t('outbox.sent')), recent);
  window.addEventListener('outboxchange', refresh);
  await refresh();
}
