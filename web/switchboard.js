/*
 * switchboard.js — the browser client of Switchboard's native protocol (docs/protocol.md).
 * No dependencies. Served by Switchboard at /switchboard.js (a plain script that defines the global
 * `Switchboard`) and /switchboard.mjs (the same code as an ES module); types in /switchboard.d.ts.
 *
 *   const sb = new Switchboard({ token: tokenFromYourBackEnd, info: { nick: "Ann" } });
 *   const room = sb.subscribe("chat", { recent: 20, onMessage: (m) => show(m.data) });
 *   room.publish({ text: "hello" });
 *
 * Transports, tried in order until one opens: WebSocket, Server-Sent Events + POST, long-polling + POST.
 * After a drop it reconnects with jittered exponential back-off and resumes every subscription from the
 * last message it delivered; when the server cannot fill the gap, the subscription's `onGap` says so.
 */
var Switchboard = (function () {
  "use strict";

  var TRANSPORTS = ["websocket", "sse", "longpoll"];

  /** Tiny event emitter. */
  function Emitter() {
    this._handlers = {};
  }
  Emitter.prototype.on = function (event, fn) {
    (this._handlers[event] = this._handlers[event] || []).push(fn);
    return this;
  };
  Emitter.prototype.off = function (event, fn) {
    var list = this._handlers[event] || [];
    var index = list.indexOf(fn);
    if (index >= 0) list.splice(index, 1);
    return this;
  };
  Emitter.prototype.emit = function (event) {
    var args = Array.prototype.slice.call(arguments, 1);
    (this._handlers[event] || []).slice().forEach(function (fn) {
      try {
        fn.apply(null, args);
      } catch (error) {
        setTimeout(function () { throw error; });
      }
    });
  };

  /** An error from the server ({code, name, message}) or from the client ("disconnected", "timeout"). */
  function SwitchboardError(name, message, code) {
    var error = new Error(message);
    error.name = "SwitchboardError";
    error.reason = name;
    error.code = code || 0;
    return error;
  }

  // ---- Transports: open(), send(commands), close(); they call back onOpen, onMessage, onClose. ----

  /** One JSON command per WebSocket message; one reply or push per message. */
  function WebSocketTransport(base, callbacks) {
    var url = base.replace(/^http/, "ws") + "/connection/websocket";
    var socket = new WebSocket(url);
    var closed = false;
    socket.onopen = function () { callbacks.onOpen(); };
    socket.onmessage = function (event) { callbacks.onMessage(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      if (closed) return;
      closed = true;
      callbacks.onClose({ code: event.code, reason: event.reason });
    };
    this.send = function (commands) {
      commands.forEach(function (command) { socket.send(JSON.stringify(command)); });
    };
    this.close = function () {
      closed = true;
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try { socket.close(); } catch (ignored) { /* already closed */ }
    };
  }

  /**
   * Commands of the HTTP fallbacks: POSTed one batch at a time, so they arrive in order. Sent as
   * text/plain, a "simple" request that needs no CORS preflight.
   */
  function Poster(base, onFailure) {
    var queue = [];
    var busy = false;
    var session = null;
    var stopped = false;
    function pump() {
      if (busy || stopped || session === null || queue.length === 0) return;
      var batch = queue;
      queue = [];
      busy = true;
      fetch(base + "/connection/send?session=" + encodeURIComponent(session), {
        method: "POST",
        headers: { "Content-Type": "text/plain" },
        body: JSON.stringify(batch)
      }).then(function (response) {
        busy = false;
        if (!response.ok) throw new Error("POST /connection/send: " + response.status);
        pump();
      }).catch(function (error) {
        busy = false;
        if (!stopped) onFailure(error);
      });
    }
    this.start = function (id) { session = id; pump(); };
    this.send = function (commands) { queue = queue.concat(commands); pump(); };
    this.stop = function () { stopped = true; };
  }

  /** Replies and pushes as Server-Sent Events on /connection/sse; commands by POST. */
  function SSETransport(base, callbacks) {
    var closed = false;
    var self = this;
    var poster = new Poster(base, function (error) { fail(String(error)); });
    var source = new EventSource(base + "/connection/sse");
    function fail(reason) {
      if (closed) return;
      self.close();
      callbacks.onClose({ code: 0, reason: reason });
    }
    source.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.push === "session") {
        poster.start(message.session);
        callbacks.onOpen();
      } else {
        callbacks.onMessage(message);
      }
    };
    // EventSource would reconnect by itself, to a new session that knows nothing: the client does that.
    source.onerror = function () { fail("the event stream ended"); };
    this.send = function (commands) { poster.send(commands); };
    this.close = function () {
      closed = true;
      poster.stop();
      source.onmessage = source.onerror = null;
      source.close();
    };
  }

  /** Replies and pushes by GET /connection/poll, acknowledged by number; commands by POST. */
  function LongPollTransport(base, callbacks) {
    var closed = false;
    var session = null;
    var ack = 0;
    var abort = typeof AbortController === "function" ? new AbortController() : null;
    var self = this;
    var poster = new Poster(base, function (error) { fail(String(error)); });
    function fail(reason) {
      if (closed) return;
      self.close();
      callbacks.onClose({ code: 0, reason: reason });
    }
    function poll() {
      if (closed) return;
      var url = base + "/connection/poll" +
        (session === null ? "" : "?session=" + encodeURIComponent(session) + "&ack=" + ack);
      fetch(url, { cache: "no-store", signal: abort ? abort.signal : undefined })
        .then(function (response) {
          if (!response.ok) throw new Error("GET /connection/poll: " + response.status);
          return response.json();
        })
        .then(function (body) {
          if (closed) return;
          ack = body.seq;
          body.messages.forEach(function (message) {
            if (closed) return;
            if (message.push === "session") {
              session = message.session;
              poster.start(session);
              callbacks.onOpen();
            } else {
              callbacks.onMessage(message);
            }
          });
          if (body.closed) fail("the session ended");
          else poll();
        })
        .catch(function (error) { fail(String(error)); });
    }
    this.send = function (commands) { poster.send(commands); };
    this.close = function () {
      closed = true;
      poster.stop();
      if (abort) abort.abort();
    };
    poll();
  }

  var TRANSPORT_TYPES = { websocket: WebSocketTransport, sse: SSETransport, longpoll: LongPollTransport };

  // ---- Subscriptions ----

  /** A channel this client is on; survives reconnects. */
  function Subscription(client, channel, options) {
    Emitter.call(this);
    this.client = client;
    this.channel = channel;
    /** The id of the last message delivered: where a reconnect resumes. */
    this.position = options.since || null;
    this.recent = options.recent || 0;
    this.active = true;
    var self = this;
    ["onMessage", "onJoin", "onLeave", "onGap", "onSubscribed", "onError"].forEach(function (name) {
      if (typeof options[name] === "function") {
        var event = name.charAt(2).toLowerCase() + name.slice(3);
        self.on(event, options[name]);
      }
    });
  }
  Subscription.prototype = Object.create(Emitter.prototype);
  Subscription.prototype.publish = function (data, options) {
    return this.client.publish(this.channel, data, options);
  };
  Subscription.prototype.presence = function () { return this.client.presence(this.channel); };
  Subscription.prototype.history = function (options) { return this.client.history(this.channel, options); };
  Subscription.prototype.unsubscribe = function () {
    if (!this.active) return Promise.resolve();
    this.active = false;
    delete this.client._subscriptions[this.channel];
    if (this.client.state !== "connected") return Promise.resolve();
    return this.client._call("unsubscribe", { channel: this.channel }).catch(function () {});
  };
  Subscription.prototype._deliver = function (message) {
    this.position = message.id;
    this.emit("message", message);
  };

  // ---- The client ----

  /**
   * new Switchboard([url], options): url is the server's base URL (default: the page's origin).
   * options: transports (["websocket", "sse", "longpoll"], in order of preference), token (a signed token
   * from your back end: the user comes from it), getToken (a function returning a promise of a new token:
   * called to connect when there is no token or it is about to expire, and before the connection's token
   * expires, to refresh it), info (what others see of this client, e.g. a nickname),
   * user (only where the server allows anonymous users: development), minReconnectDelay (ms, 500),
   * maxReconnectDelay (ms, 15000), openTimeout (ms, 5000), autoConnect (true).
   */
  function Switchboard(url, options) {
    if (typeof url === "object" && url !== null) {
      options = url;
      url = undefined;
    }
    Emitter.call(this);
    options = options || {};
    this.url = (url || (typeof location !== "undefined" ? location.origin : "")).replace(/\/$/, "");
    this.options = options;
    this.transports = (options.transports || TRANSPORTS).filter(function (name) {
      if (!TRANSPORT_TYPES[name]) throw new Error("unknown transport " + name);
      return true;
    });
    /** "disconnected", "connecting", "connected" or "reconnecting". */
    this.state = "disconnected";
    /** The transport in use ("websocket", "sse", "longpoll") once connected. */
    this.transport = null;
    /** This connection's id and user, from the server's connect reply. */
    this.clientId = null;
    this.user = null;
    /** When the connection's token expires (ms since the epoch), if it was made with one. */
    this.expiresAt = null;
    this._subscriptions = {};
    this._handlers = this._handlers || {};
    this._methods = {};
    this._pending = {};
    this._queued = [];
    this._nextId = 1;
    this._attempt = 0;
    this._transportIndex = 0;
    this._wanted = false;
    if (options.autoConnect !== false) this.connect();
  }
  Switchboard.prototype = Object.create(Emitter.prototype);
  Switchboard.prototype.constructor = Switchboard;
  Switchboard.Error = SwitchboardError;

  Switchboard.prototype._setState = function (state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  };

  /** Connects (done by the constructor unless autoConnect is false). */
  Switchboard.prototype.connect = function () {
    if (this._wanted) return;
    this._wanted = true;
    this._attempt = 0;
    this._open();
  };

  /** Disconnects for good (until connect() is called again). */
  Switchboard.prototype.disconnect = function () {
    this._wanted = false;
    clearTimeout(this._retryTimer);
    this._drop("disconnected by the client");
    this._setState("disconnected");
  };

  /** Drops the current connection and reconnects at once, resuming every subscription. */
  Switchboard.prototype.reconnect = function () {
    if (!this._wanted) return this.connect();
    clearTimeout(this._retryTimer);
    this._drop("reconnect requested");
    this._attempt = 0;
    this._open();
  };

  Switchboard.prototype._open = function () {
    var self = this;
    var name = this.transports[this._transportIndex % this.transports.length];
    this._setState(this._everConnected ? "reconnecting" : "connecting");
    var opened = false;
    var transport;
    var callbacks = {
      onOpen: function () {
        if (transport !== self._transport) return;
        opened = true;
        clearTimeout(self._openTimer);
        self._handshake(name);
      },
      onMessage: function (message) {
        if (transport === self._transport) self._receive(message);
      },
      onClose: function (info) {
        if (transport !== self._transport) return;
        clearTimeout(self._openTimer);
        self._lost(info, opened);
      }
    };
    try {
      transport = new TRANSPORT_TYPES[name](this.url, callbacks);
    } catch (error) {
      transport = null;
      this._transport = null;
      setTimeout(function () { self._lost({ code: 0, reason: String(error) }, false); });
      return;
    }
    this._transport = transport;
    // A transport that neither opens nor fails (a proxy that swallows the upgrade) is given up on.
    this._openTimer = setTimeout(function () {
      if (transport === self._transport && !opened) {
        transport.close();
        self._lost({ code: 0, reason: name + " did not open" }, false);
      }
    }, this.options.openTimeout || 5000);
  };

  /** The token to connect with: options.token, or a new one from getToken when it is missing or expiring. */
  Switchboard.prototype._connectToken = function () {
    var current = this.options.token;
    var expiring = this.expiresAt !== null && this.expiresAt - Date.now() < 5000;
    if (!this.options.getToken || (current && !expiring)) return Promise.resolve(current);
    var self = this;
    return Promise.resolve().then(function () { return self.options.getToken(); }).then(function (token) {
      self.options.token = token;
      self.expiresAt = null;
      return token;
    });
  };

  /** Refreshes the token ahead of its expiry (a quarter of the time left, at most a minute ahead). */
  Switchboard.prototype._scheduleRefresh = function () {
    clearTimeout(this._refreshTimer);
    if (!this.options.getToken || this.expiresAt === null) return;
    var self = this;
    var left = this.expiresAt - Date.now();
    this._refreshTimer = setTimeout(function () {
      if (self.state !== "connected") return;
      Promise.resolve().then(function () { return self.options.getToken(); })
        .then(function (token) { return self.refresh(token); })
        .catch(function (error) { self.emit("error", error); });  // at expiry: 4005, then a reconnect
    }, Math.max(0, left - Math.min(60000, left / 4)));
  };

  Switchboard.prototype._handshake = function (transportName) {
    var self = this;
    var transport = this._transport;
    this._connectToken().then(function (token) {
      if (transport === self._transport) self._sendConnect(transportName, token);
    }, function (error) {
      // No token to be had now: like a lost connection, try again later.
      self.emit("error", error);
      if (transport === self._transport) self._lost({ code: 0, reason: "getToken failed: " + error }, false);
    });
  };

  Switchboard.prototype._sendConnect = function (transportName, token) {
    var self = this;
    var params = {};
    if (token) params.token = token;
    else if (this.options.user) params.user = this.options.user;
    if (this.options.info !== undefined) params.info = this.options.info;
    this._send({ id: this._nextId++, method: "connect", params: params }, true).then(function (result) {
      self.transport = transportName;
      self.clientId = result.client;
      self.user = result.user;
      self.expiresAt = result.expires_at || null;
      self._scheduleRefresh();
      self._attempt = 0;
      self._everConnected = true;
      self._setState("connected");
      self.emit("connected", { client: result.client, user: result.user, transport: transportName });
      self._startPing(result.ping_interval);
      Object.keys(self._subscriptions).forEach(function (channel) {
        self._resubscribe(self._subscriptions[channel]);
      });
      var queued = self._queued;
      self._queued = [];
      queued.forEach(function (entry) { self._transport.send([entry]); });
    }, function (error) {
      if (error.reason === "disconnected") return;  // the transport dropped: _lost reconnects
      // Refused (a bad token, a hook saying no): reconnecting would not help.
      self.emit("error", error);
      self._wanted = false;
      self._drop(error.message);
      self._setState("disconnected");
      self.emit("disconnected", { reason: error.reason, message: error.message, reconnect: false });
    });
  };

  /** Sends a command and resolves with its result. `now`: do not wait for the connection. */
  Switchboard.prototype._send = function (command, now) {
    var self = this;
    return new Promise(function (resolve, reject) {
      self._pending[command.id] = { resolve: resolve, reject: reject };
      if (now || self.state === "connected") self._transport.send([command]);
      else self._queued.push(command);
    });
  };

  Switchboard.prototype._call = function (method, params) {
    return this._send({ id: this._nextId++, method: method, params: params });
  };

  Switchboard.prototype._receive = function (message) {
    if (message.push === undefined) {  // a reply (pushes have an "id" too: the message's)
      var pending = this._pending[message.id];
      if (!pending) return;
      delete this._pending[message.id];
      if (message.error) {
        pending.reject(SwitchboardError(message.error.name, message.error.message, message.error.code));
      } else {
        pending.resolve(message.result);
      }
      return;
    }
    var subscription = message.channel !== undefined ? this._subscriptions[message.channel] : undefined;
    switch (message.push) {
      case "message":
        if (subscription) subscription._deliver(message);
        else if (message.channel.indexOf("$user:") === 0) this.emit("message", message);
        break;
      case "join":
      case "leave":
        if (subscription) subscription.emit(message.push, message);
        break;
      case "unsubscribe":
        if (subscription) {
          subscription.active = false;
          delete this._subscriptions[message.channel];
          subscription.emit("unsubscribed", message);
        }
        break;
      case "call":
        this._answerCall(message);
        break;
      case "disconnect":
        this._serverReason = message.reason;
        break;
    }
  };

  Switchboard.prototype._answerCall = function (call) {
    var self = this;
    var handler = this._methods[call.method];
    var answered = handler
      ? new Promise(function (resolve) { resolve(handler(call.data)); })
      : Promise.reject(new Error("the page has no handler for " + call.method));
    answered.then(function (result) {
      self._call("answer", { call: call.call, result: result === undefined ? null : result });
    }, function (error) {
      self._call("answer", { call: call.call, error: String((error && error.message) || error) });
    });
  };

  Switchboard.prototype._resubscribe = function (subscription) {
    var self = this;
    var start = subscription.position
      ? Promise.resolve(null)
      : subscription.recent > 0
        ? this._call("history", { channel: subscription.channel, limit: subscription.recent })
        : Promise.resolve(null);
    start.then(function (history) {
      if (history) {
        history.publications.forEach(function (message) {
          message.history = true;
          subscription._deliver(message);
        });
        if (history.last_id && !subscription.position) subscription.position = history.last_id;
      }
      var params = { channel: subscription.channel };
      var resuming = subscription.position;
      if (resuming) params.since = resuming;
      return self._call("subscribe", params).then(function (result) {
        if (!subscription.active) return;
        result.publications.forEach(function (message) { subscription._deliver(message); });
        if (!subscription.position) subscription.position = result.position;
        if (resuming && !result.recovered) {
          subscription.emit("gap", { reason: result.gap, since: resuming });
        }
        subscription.emit("subscribed", result);
      });
    }).catch(function (error) {
      if (error.reason === "disconnected") return;  // tried again after the reconnect
      subscription.active = false;
      delete self._subscriptions[subscription.channel];
      subscription.emit("error", error);
    });
  };

  Switchboard.prototype._startPing = function (seconds) {
    var self = this;
    clearInterval(this._pingTimer);
    var interval = Math.max(5, seconds || 25) * 1000;
    this._pingTimer = setInterval(function () {
      if (self.state !== "connected") return;
      var answered = false;
      self._call("ping", {}).then(function () { answered = true; }, function () { answered = true; });
      // No answer to a ping within 10 s: the connection is dead though nobody said so.
      setTimeout(function () {
        if (!answered && self.state === "connected") self._lost({ code: 0, reason: "ping timeout" }, true);
      }, 10000);
    }, interval);
  };

  /** Closes the transport and fails what waited for an answer. */
  Switchboard.prototype._drop = function (reason) {
    clearInterval(this._pingTimer);
    clearTimeout(this._openTimer);
    clearTimeout(this._refreshTimer);
    var transport = this._transport;
    this._transport = null;
    if (transport) transport.close();
    // Commands sent on this connection may or may not have run: say so. Queued ones wait for the next.
    var queued = {};
    this._queued.forEach(function (command) { queued[command.id] = true; });
    var pending = this._pending;
    this._pending = {};
    var self = this;
    Object.keys(pending).forEach(function (id) {
      if (queued[id]) self._pending[id] = pending[id];
      else pending[id].reject(SwitchboardError("disconnected", reason));
    });
  };

  Switchboard.prototype._lost = function (info, opened) {
    var wasConnected = this.state === "connected";
    var serverReason = this._serverReason;
    this._serverReason = undefined;
    this._drop(info.reason || "connection lost");
    // Ended by the back end (POST /api/disconnect, close code 4004): stay away. The token expired (4005):
    // come back only with a new one from getToken.
    var expired = serverReason === "token-expired" || info.code === 4005;
    var reconnect = this._wanted && serverReason !== "disconnected" && info.code !== 4004 &&
      !(expired && !this.options.getToken);
    if (wasConnected) {
      this.emit("disconnected", {
        reason: serverReason || "connection-lost",
        message: info.reason,
        code: info.code,
        reconnect: reconnect
      });
    }
    if (!reconnect) {
      this._wanted = false;
      this._setState("disconnected");
      return;
    }
    // A transport that never opened: try the next one at once, then back off after a whole round.
    if (!opened) {
      this._transportIndex++;
      if (this._transportIndex % this.transports.length !== 0) {
        this._open();
        return;
      }
    }
    this._setState(this._everConnected ? "reconnecting" : "connecting");
    var min = this.options.minReconnectDelay || 500;
    var max = this.options.maxReconnectDelay || 15000;
    var delay = Math.min(max, min * Math.pow(2, this._attempt++));
    delay = delay / 2 + Math.random() * delay / 2;  // jitter: clients dropped together do not return together
    var self = this;
    this._retryTimer = setTimeout(function () {
      if (self._wanted) self._open();
    }, delay);
  };

  // ---- Public commands ----

  /**
   * Subscribes to `channel`. options: since (a message id to resume after), recent (how many messages of
   * history to deliver first), onMessage, onJoin, onLeave, onGap, onSubscribed, onError.
   */
  Switchboard.prototype.subscribe = function (channel, options) {
    if (this._subscriptions[channel]) throw new Error("already subscribed to " + channel);
    var subscription = new Subscription(this, channel, options || {});
    this._subscriptions[channel] = subscription;
    if (this.state === "connected") this._resubscribe(subscription);
    return subscription;
  };

  /** The subscription to `channel`, if any. */
  Switchboard.prototype.subscription = function (channel) {
    return this._subscriptions[channel] || null;
  };

  /** Publishes `data` (a string as text, anything else as JSON); options: event, contentType. */
  Switchboard.prototype.publish = function (channel, data, options) {
    var params = { channel: channel, data: data };
    if (options && options.event) params.event = options.event;
    if (options && options.contentType) params.content_type = options.contentType;
    return this._call("publish", params);
  };

  /** Who is on `channel`: [{client, user, info}]. */
  Switchboard.prototype.presence = function (channel) {
    return this._call("presence", { channel: channel }).then(function (result) { return result.members; });
  };

  /** The channel's history; options: since, limit. */
  Switchboard.prototype.history = function (channel, options) {
    var params = { channel: channel };
    if (options && options.since) params.since = options.since;
    if (options && options.limit) params.limit = options.limit;
    return this._call("history", params);
  };

  /** Calls `method` on the application's back end (native.rpc_url) and resolves with its result. */
  Switchboard.prototype.rpc = function (method, data) {
    return this._call("rpc", { method: method, data: data === undefined ? null : data })
      .then(function (result) { return result.result; });
  };

  /**
   * A new token (for the same user) before the current one expires: the server moves the connection's
   * expiry (`expires_at`, in ms) and its channels to the new token's; reconnects use it from then on.
   * With getToken this happens by itself.
   */
  Switchboard.prototype.refresh = function (token) {
    var self = this;
    return this._call("refresh", { token: token }).then(function (result) {
      self.options.token = token;
      self.expiresAt = result.expires_at || null;
      self._scheduleRefresh();
      self.emit("refreshed", { expiresAt: self.expiresAt });
      return result;
    });
  };

  /** Lets the back end call this page (POST /api/call): `fn(data)` returns the result or a promise. */
  Switchboard.prototype.handle = function (method, fn) {
    this._methods[method] = fn;
    return this;
  };

  return Switchboard;
})();
