// The fail page: the payment window (code PAY_PROCESS_CANCELED, PAY_PROCESS_ABORTED, …) or
// the success page after a refused confirm (REJECT_CARD_PAYMENT, OUT_OF_STOCK, …) sent the
// shopper here with code, message and orderId. They are only shown as text; what the order
// really is comes from the API.
'use strict';

(() => {
  const { api, won, rows, reason, detail, statusPill, orderPath } = paysaga;
  const $ = (id) => document.getElementById(id);
  const query = new URLSearchParams(location.search);
  const code = query.get('code') || '';
  const message = query.get('message') || '';
  const orderId = query.get('orderId') || '';

  const canceled = code === 'PAY_PROCESS_CANCELED';
  if (canceled) {
    $('fail-title').textContent = '결제를 취소했어요';
    $('fail-icon').className = 'icon info';
    document.title = '결제 취소 · paysaga';
  }
  $('fail-reason').textContent = reason(code, message);
  $('fail-code').textContent = [code, detail(code, message)].filter(Boolean).join(' · ');

  async function showOrder() {
    if (!/^[A-Za-z0-9_-]{6,64}$/.test(orderId)) return;
    $('fail-order-link').href = orderPath(orderId);
    $('fail-order-link').hidden = false;
    const { status, body } = await api('GET', '/orders/' + encodeURIComponent(orderId));
    if (status !== 200) {
      rows($('fail-rows'), [['주문번호', orderId, 'mono']]);
      return;
    }
    rows($('fail-rows'), [
      ['주문번호', body.orderId, 'mono'],
      ['주문명', body.orderName],
      ['주문 금액', won(body.amount)],
      ['주문 상태', statusPill(body.status)],
    ]);
    if (['CREATED', 'FAILED', 'EXPIRED'].includes(body.status)) {
      $('fail-note').textContent = '이 주문으로 결제된 금액은 없어요.';
      $('fail-note').hidden = false;
    }
  }

  showOrder();
})();
