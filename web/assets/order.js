// The order page (/orders/:orderId): the order as the API holds it. While a confirm is
// still running it refreshes itself for a bounded time.
'use strict';

(() => {
  const { api, won, when, el, rows, reason, detail, statusPill, sleep } = paysaga;
  const $ = (id) => document.getElementById(id);
  const orderId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
  const REFRESH_ATTEMPTS = 20;

  const notes = {
    CREATED: '아직 결제되지 않은 주문이에요.',
    CONFIRMING: '결제를 승인하고 있어요. 이 화면은 자동으로 새로고침돼요.',
    FAILED: '이 주문으로 결제된 금액은 없어요.',
    EXPIRED: '결제 기한이 지난 주문이에요. 결제된 금액은 없어요.',
    CANCELED: '결제가 취소되어 전액 환불되었어요.',
    PARTIAL_CANCELED: '결제 금액의 일부가 취소되었어요.',
    NEEDS_ATTENTION: '담당자가 결제를 확인하고 있어요. 이중으로 청구되지 않아요.',
  };

  // load shows the order and reports whether it is still being confirmed.
  async function load() {
    const { status, body } = await api('GET', '/orders/' + encodeURIComponent(orderId));
    if (status !== 200) {
      $('order-status').textContent = status === 404 ? '주문을 찾을 수 없어요.' : reason(body.code, body.message);
      $('order-amount').textContent = '';
      rows($('order-rows'), [['주문번호', orderId, 'mono']]);
      $('order-spinner').hidden = true;
      return false;
    }
    $('order-status').replaceChildren(statusPill(body.status));
    $('order-amount').textContent = won(body.amount);
    const failure = body.failure
      ? el('span', {}, reason(body.failure.code, body.failure.message), el('br'),
        el('span', { className: 'mono' }, [body.failure.code, detail(body.failure.code, body.failure.message)].filter(Boolean).join(' · ')))
      : '';
    rows($('order-rows'), [
      ['주문번호', body.orderId, 'mono'],
      ['주문명', body.orderName],
      ['수량', body.quantity ? body.quantity + '개' : ''],
      ['결제 수단', body.method],
      ['승인 일시', body.approvedAt ? when(body.approvedAt) : ''],
      ['주문 일시', body.createdAt ? when(body.createdAt) : ''],
      ['실패 사유', failure],
    ]);
    const note = notes[body.status] || '';
    $('order-note').textContent = note;
    $('order-note').hidden = !note;
    const confirming = body.status === 'CONFIRMING';
    $('order-spinner').hidden = !confirming;
    document.title = (paysaga.statusLabels[body.status] || '주문 상세') + ' · paysaga';
    return confirming;
  }

  async function run() {
    let delay = 1000;
    for (let i = 0; i < REFRESH_ATTEMPTS; i++) {
      if (!(await load())) return;
      await sleep(delay);
      delay = Math.min(delay * 1.5, 5000);
    }
  }

  $('refresh').addEventListener('click', load);
  run();
})();
