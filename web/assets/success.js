// The success page: the payment window came back with paymentKey, orderId and amount. They
// are only a claim: the page hands them to POST /api/v1/orders/confirm, and shows the order
// the API answers with — never the values of the address bar. A 202 CONFIRMING answer means
// the saga is still running: poll the order, for a bounded time, until it settles.
// Reloading the page is safe: a second confirm of the same order joins the same saga.
'use strict';

(() => {
  const { api, won, when, rows, reason, statusPill, sleep, orderPath, USER_ID } = paysaga;
  const $ = (id) => document.getElementById(id);
  const query = new URLSearchParams(location.search);
  const claim = {
    orderId: query.get('orderId') || '',
    paymentKey: query.get('paymentKey') || '',
    amount: query.get('amount') || '',
  };
  const POLL_ATTEMPTS = 30;
  const POLL_BUDGET_MS = 90 * 1000;

  function show(id) {
    for (const section of document.querySelectorAll('[data-state]')) section.hidden = section.id !== id;
    const heading = $(id).querySelector('h1');
    if (heading && id !== 'confirming') heading.focus();
  }

  // toFail sends the shopper to the fail page with the API's code and message.
  function toFail(code, message) {
    const target = new URL('/fail', location.href);
    target.searchParams.set('code', code || 'INTERNAL');
    target.searchParams.set('message', message || '');
    if (claim.orderId) target.searchParams.set('orderId', claim.orderId);
    location.replace(target.href);
  }

  function showPaid(order) {
    $('paid-amount').textContent = won(order.amount);
    rows($('paid-rows'), [
      ['상태', statusPill(order.status)],
      ['주문번호', order.orderId, 'mono'],
      ['주문명', order.orderName],
      ['결제 수단', order.method],
      ['승인 일시', order.approvedAt ? when(order.approvedAt) : ''],
    ]);
    $('paid-order-link').href = orderPath(order.orderId);
    document.title = '결제 완료 · paysaga';
    show('paid');
  }

  function showWaiting(title, text) {
    $('waiting-title').textContent = title;
    $('waiting-text').textContent = text;
    $('waiting-order-link').href = orderPath(claim.orderId);
    document.title = title + ' · paysaga';
    show('waiting');
  }

  // settle shows an order that has left CONFIRMING and reports whether it had.
  function settle(order) {
    switch (order.status) {
      case 'PAID':
        showPaid(order);
        return true;
      case 'FAILED': {
        const f = order.failure || {};
        toFail(f.code || 'PAYMENT_NOT_DONE', f.message || '');
        return true;
      }
      case 'NEEDS_ATTENTION':
        showWaiting('담당자가 결제를 확인하고 있어요',
          '결제 처리 중 확인이 필요한 일이 생겼어요. 이중으로 청구되지 않으며, 확인이 끝나면 주문 상태에 반영돼요.');
        return true;
      case 'CREATED':
      case 'CONFIRMING':
        return false;
      default:
        toFail('ORDER_NOT_CONFIRMABLE', '');
        return true;
    }
  }

  async function poll() {
    // From here on the saga finishes the payment whatever the browser does.
    $('confirming-text').textContent = '결제사 응답을 기다리고 있어요. 창을 닫아도 결제는 안전하게 마무리돼요.';
    const deadline = Date.now() + POLL_BUDGET_MS;
    let delay = 1000;
    for (let i = 0; i < POLL_ATTEMPTS && Date.now() < deadline; i++) {
      await sleep(delay);
      delay = Math.min(delay * 1.5, 5000);
      const { status, body } = await api('GET', '/orders/' + encodeURIComponent(claim.orderId));
      if (status === 200 && settle(body)) return;
      if (status >= 400 && status < 500) {
        toFail(body.code, body.message);
        return;
      }
    }
    showWaiting('결제 확인이 늦어지고 있어요',
      '결제가 끝나면 주문 상태에서 확인할 수 있어요. 다시 확인해도 두 번 청구되지 않아요.');
  }

  async function confirm() {
    show('confirming');
    document.title = '결제 승인 중 · paysaga';
    if (!claim.orderId || !claim.paymentKey || !claim.amount) {
      toFail('INVALID_REQUEST', '결제 정보가 없는 주소예요.');
      return;
    }
    const { status, body } = await api('POST', '/orders/confirm', { userId: USER_ID, ...claim });
    if (status === 200) {
      // The confirm answers what the receipt needs; the order adds its name.
      const read = await api('GET', '/orders/' + encodeURIComponent(body.orderId));
      const order = read.status === 200 && read.body.status === body.status ? { ...read.body, ...body } : body;
      if (!settle(order)) await poll();
      return;
    }
    if (status === 202) {
      await poll();
      return;
    }
    if (status === 0) {
      showWaiting('서버에 연결하지 못했어요', reason(body.code, body.message) + ' 다시 확인해도 두 번 청구되지 않아요.');
      return;
    }
    toFail(body.code, body.message);
  }

  $('retry').addEventListener('click', confirm);
  confirm();
})();
