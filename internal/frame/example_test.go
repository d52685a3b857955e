package frame_test

import (
	"errors"
	"fmt"

	"github.com/go-sockjs/sockjs/internal/frame"
)

func ExampleAppendQuote() {
	fmt.Println(string(frame.AppendQuote(nil, "</script>\n\u2028\ufff0")))
	// Output: "\u003c/script\u003e\n\u2028\ufff0"
}

func ExampleAppendMessages() {
	fmt.Println(string(frame.AppendMessages(nil, []string{"m1", "m2"})))
	fmt.Println(string(frame.AppendMessages(nil, nil)))
	// Output:
	// a["m1","m2"]
	// a[]
}

func ExampleAppendClose() {
	fmt.Println(string(frame.AppendClose(nil, 3000, "Go away!")))
	// Output: c[3000,"Go away!"]
}

func ExampleAppendJSString() {
	// The jsonp transport: /**/callback("a[\"x\"]");
	f := frame.AppendMessages(nil, []string{"x"})
	out := append([]byte("/**/callback("), frame.AppendJSString(nil, f)...)
	out = append(out, ");"...)
	fmt.Println(string(out))
	// Output: /**/callback("a[\"x\"]");
}

func ExampleAppendEventSourceData() {
	f := frame.AppendMessages(nil, []string{"100%"})
	out := frame.AppendEventSourceData([]byte("data: "), f)
	fmt.Printf("%q\n", out)
	fmt.Printf("%q\n", frame.AppendEventSourceData(nil, []byte("a\r\nb")))
	// Output:
	// "data: a[\"100%25\"]"
	// "a%0D%0Ab"
}

func ExampleDecodeMessages() {
	msgs, err := frame.DecodeMessages([]byte(` ["a", "\u00e9\ud83d\ude00"] `))
	fmt.Printf("%q %v\n", msgs, err)

	_, err = frame.DecodeMessages([]byte(`{"a":1}`))
	fmt.Println(err, errors.Is(err, frame.ErrPayloadExpected))

	_, err = frame.DecodeMessages([]byte(`["a"`))
	fmt.Println(err, errors.Is(err, frame.ErrBrokenJSON))
	// Output:
	// ["a" "é😀"] <nil>
	// Payload expected. true
	// Broken JSON encoding. true
}

func ExampleDecodeMessages_loneSurrogate() {
	// An unpaired surrogate survives the round trip.
	msgs, _ := frame.DecodeMessages([]byte(`["\ud800"]`))
	fmt.Println(string(frame.AppendMessages(nil, msgs)))
	// Output: a["\ud800"]
}

func ExampleValidCallback() {
	fmt.Println(frame.ValidCallback("parent.callback_1"), frame.ValidCallback("abc("), frame.ValidCallback(""))
	// Output: true false false
}

func Example_frames() {
	for _, f := range []string{frame.Open, frame.Heartbeat} {
		fmt.Println(f)
	}
	// Output:
	// o
	// h
}
