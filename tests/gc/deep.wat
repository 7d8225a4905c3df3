(module
  (type $bytes (array (mut i8)))
  (type $frame (struct (field $depth i32) (field $data (ref $bytes))))
  (type $garbage (struct (field (ref null $garbage)) (field (ref $bytes))))

  ;; $n linked objects of $size bytes each, which all die at once.
  (func $garbage (param $n i32) (param $size i32)
    (local $g (ref null $garbage))
    (loop $more
      (local.set $g
        (struct.new $garbage (local.get $g) (array.new $bytes (i32.const 7) (local.get $size))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $more (i32.gt_s (local.get $n) (i32.const 0)))))

  ;; Each frame allocates a struct holding its depth and a 64-byte array filled with its
  ;; depth's low byte, keeps the struct in a local and its array on the operand stack across
  ;; the recursive call, and checks both afterwards: the collections the garbage at the
  ;; bottom causes must not free or change anything a frame holds. Returns the sum of the
  ;; depths; traps if a check fails.
  (func $deep (export "deep") (param $depth i32) (param $n i32) (param $size i32) (result i64)
    (local $mine (ref null $frame))
    (local $data (ref null $bytes))
    (local $sum i64)
    (local $i i32)
    (local.set $mine
      (struct.new $frame (local.get $depth) (array.new $bytes (local.get $depth) (i32.const 64))))
    (if (i32.eqz (local.get $depth))
      (then
        (call $garbage (local.get $n) (local.get $size))
        (return (i64.const 0))))
    (struct.get $frame $data (local.get $mine))
    (call $deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $n) (local.get $size))
    (local.set $sum)
    (local.set $data)
    (if (i32.ne (struct.get $frame $depth (local.get $mine)) (local.get $depth))
      (then (unreachable)))
    (if (i32.eqz (ref.eq (local.get $data) (struct.get $frame $data (local.get $mine))))
      (then (unreachable)))
    (loop $check
      (if (i32.ne (array.get_u $bytes (local.get $data) (local.get $i))
                  (i32.and (local.get $depth) (i32.const 0xff)))
        (then (unreachable)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $check (i32.lt_u (local.get $i) (i32.const 64))))
    (i64.add (local.get $sum) (i64.extend_i32_u (local.get $depth)))))
