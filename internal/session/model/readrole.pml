/*
 * A model of a pulled session's read role (internal/session/readrole.go and
 * transports/connread.go), for the Spin model checker: check.sh runs it.
 *
 * What is modelled: the client writing N messages to the connection; two
 * application goroutines calling Recv in a loop, one with the session's own
 * context, one with a context of its own whose end interrupts its wait;
 * background readers started (Adopt) by heartbeat ticks; the take-over
 * interrupt and the context interrupt, each possibly late (stale); the read
 * deadline that an interrupt sets in the past and the waiter puts back.
 * Every atomic block is one critical section of the code: the session's lock
 * (core) or the reader's intr lock (transport).
 *
 * What is checked:
 *   - nobody waits on the connection while the inbound queue holds a
 *     message (the invariant on ReadState);
 *   - no read runs into a deadline an interrupt set (a healthy session is
 *     never cut);
 *   - every transition is one of ReadState's list (setRead);
 *   - when nothing can move any more, every message has been returned by
 *     a Recv: nothing is stuck and nothing is lost.
 */

#ifndef N
#define N 3 /* messages the client sends */
#endif
#ifndef BEATS
#define BEATS 3 /* heartbeat ticks that may start a background reader */
#endif
#ifndef CTXENDS
#define CTXENDS 2 /* ends of the second application's contexts */
#endif

mtype = { Free, Pulling, Parked, Background, Handover, Done };
mtype st = Free;

byte avail = 0;    /* messages in the connection, not yet read */
byte q = 0;        /* messages in the inbound queue */
byte got = 0;      /* messages returned by Recv */
byte waiters = 0;  /* Recv callers waiting on the wake-up */
byte gen = 0;      /* the wake-up: each wakeRecv makes a new one */

/* the reader's interruptible wait (transports/connread.go) */
#define ARM_NONE 0
#define ARM_PARK 1
#define ARM_PULL 2
byte armed = ARM_NONE;
bool interrupted = false;
bool past = false; /* the read deadline is in the past */

/* a Recv caller waits on the connection (Pull): the queue must stay empty */
bool pulling = false;

/* every message queued goes through here */
inline enqueue() {
	assert(!pulling); /* nobody waits on the connection while a message is queued */
	q++
}

inline setRead(to) {
	assert(
		(st == Free && (to == Pulling || to == Background)) ||
		(st == Pulling && (to == Free || to == Done)) ||
		(st == Background && (to == Parked || to == Free || to == Done)) ||
		(st == Parked && (to == Background || to == Handover)) ||
		(st == Handover && to == Free));
	assert(!((to == Pulling || to == Handover) && q > 0));
	assert(!(to == Parked && waiters > 0));
	st = to;
	if
	:: to == Free -> waiters = 0; gen++
	:: else -> skip
	fi
}

inline interrupt(kind) {
	atomic {
		if
		:: armed == kind && !interrupted -> interrupted = true; past = true
		:: else -> skip
		fi
	}
}

/* disarm: end the wait; if it was interrupted, put the deadline back */
inline disarm(h) {
	atomic {
		h = interrupted;
		armed = ARM_NONE;
		interrupted = false;
		if
		:: h -> past = false
		:: else -> skip
		fi
	}
}

/* a read of one message by the holder of the role */
inline readOne() {
	atomic {
		assert(!past); /* no interrupt's deadline reaches a read */
		assert(avail > 0);
		avail--
	}
}

proctype Client() {
	byte sent = 0;
	do
	:: sent < N -> avail++; sent++
	:: sent == N -> break
	od
}

proctype BgReader() {
	bool hit;
park:
	atomic { armed = ARM_PARK }
	atomic {
		if
		:: waiters > 0 -> goto letgo /* Park declined */
		:: else -> setRead(Parked)
		fi
	}
end_parked:
	(avail > 0 || past); /* pc.wait */
	disarm(hit);
	atomic {
		if
		:: st == Handover -> setRead(Free); goto end
		:: else -> setRead(Background)
		fi
	}
	if
	:: avail == 0 -> goto park /* woken by a stale interrupt: wait again */
	:: else -> skip
	fi;
	readOne();
	atomic { enqueue(); waiters = 0; gen++ } /* Deliver */
	goto park;
letgo:
	disarm(hit);
	atomic { setRead(Free) } /* LetGo */
end:
	skip
}

proctype Beats() {
	byte n = 0;
	do
	:: n < BEATS ->
		n++;
		atomic {
			if
			:: st == Free -> setRead(Background); run BgReader()
			:: else -> skip
			fi
		}
	:: n == BEATS -> break
	od
}

/* ownCtx: this application calls Recv with a context of its own, which
 * CtxEnds may end at any moment (its AfterFunc then interrupts a wait armed
 * for it, or, late, nothing). */
proctype App(bool ownCtx) {
	byte myGen;
	bool hit;
recv:
	atomic {
		if
		:: q > 0 -> q--; got++; goto recv
		:: q == 0 && st == Free -> setRead(Pulling); goto pull
		:: q == 0 && st == Parked -> setRead(Handover); goto takeover
		:: else -> waiters++; myGen = gen; goto wait
		fi
	}
pull:
	if
	:: ownCtx ->
		atomic { armed = ARM_PULL; assert(q == 0); pulling = true }
end_pullctx:
		(avail > 0 || past);
		pulling = false;
		disarm(hit);
		if
		:: hit -> atomic { setRead(Free) }; goto recv /* ctx ended: Recv returns, the app calls again */
		:: else -> skip
		fi
	:: else ->
		atomic { assert(q == 0); pulling = true }
end_pull:
		avail > 0;
		pulling = false
	fi;
	readOne();
	atomic { enqueue(); setRead(Free) } /* pull: appended in the same critical section */
	goto recv;
takeover:
	interrupt(ARM_PARK);
	goto recv;
wait:
end_wait:
	atomic { gen != myGen -> skip }
	goto recv
}

proctype CtxEnds() {
	byte n = 0;
	do
	:: n < CTXENDS -> n++; interrupt(ARM_PULL)
	:: n == CTXENDS -> break
	od
}

init {
	atomic {
		run Client();
		run Beats();
		run CtxEnds();
		run App(false);
		run App(true)
	}
}

/* When nothing can move any more, every message was received. */
active proctype Check() {
	timeout -> assert(got == N)
}
