(module
  (rec
    (type $holder (struct (field $items (mut (ref null $ring))) (field $data (ref $bytes))))
    (type $ring (array (mut (ref null $holder))))
    (type $bytes (array (mut i8))))

  ;; $count cycles, each a struct holding an array of 8 references that all point back to
  ;; the struct (with a $size-byte payload), made and dropped one after the other: nothing
  ;; but the cycle itself refers to any of them. Returns how many were made.
  (func (export "cycles") (param $count i32) (param $size i32) (result i32)
    (local $holder (ref null $holder))
    (local $ring (ref null $ring))
    (local $i i32)
    (loop $next
      (local.set $holder
        (struct.new $holder (ref.null $ring) (array.new $bytes (i32.const 3) (local.get $size))))
      (local.set $ring (array.new $ring (local.get $holder) (i32.const 8)))
      (struct.set $holder $items (local.get $holder) (local.get $ring))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $count))))
    (local.get $i)))
