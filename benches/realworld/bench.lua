-- Lua benchmark: recursion, tables, strings, sorting, closures, metatables and a file, sized by the
-- first argument (default 20). Prints results only (no times), the same under wasm and
-- native; writes `lua-out.txt` in the current folder and reads it back. No coroutines:
-- the wasm build has no setjmp (see lua-wasi/setjmp.h) and Lua yields by longjmp.
local n = tonumber(arg and arg[1]) or 20

local function fib(k) if k < 2 then return k end return fib(k - 1) + fib(k - 2) end
print("fib", n + 5, fib(n + 5))

local seed = 42
local function random(m)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % m
end

local t = {}
for i = 1, n * 5000 do t[i] = random(1000000) end
table.sort(t)
local sorted = true
for i = 2, #t do if t[i - 1] > t[i] then sorted = false end end
print("sort", #t, t[1], t[#t // 2], t[#t], sorted)

local words, counts = {}, {}
for i = 1, n * 2000 do
  local w = string.format("w%d", random(n * 50))
  words[#words + 1] = w
  counts[w] = (counts[w] or 0) + 1
end
local distinct, most, best = 0, 0, ""
for w, c in pairs(counts) do
  distinct = distinct + 1
  if c > most or (c == most and w < best) then most, best = c, w end
end
print("words", #words, distinct, best, most)

local s = table.concat(words, " ", 1, 2000)
local vowels = select(2, s:gsub("[13579]", ""))
print("string", #s, vowels, s:sub(1, 20), s:upper():find("W7"), s:match("w(%d+)%s+w%1") or "-")

local acc, x = 0.0, 1.0
for i = 1, n * 20000 do
  x = x * 1.0000001 + math.sin(i) / i
  acc = acc + math.sqrt(x) * 0.5
end
print("float", string.format("%.6f %.6f", acc, x))

local function counter()
  local c = 0
  return function() c = c + 1; return c end
end
local total = 0
for _ = 1, n * 100 do
  local next = counter()
  for _ = 1, 100 do total = total + next() end
end
print("closures", total)

local Vec = {}
Vec.__index = Vec
Vec.__add = function(a, b) return setmetatable({x = a.x + b.x, y = a.y + b.y}, Vec) end
function Vec.new(x, y) return setmetatable({x = x, y = y}, Vec) end
function Vec:dot(o) return self.x * o.x + self.y * o.y end
local v, dots = Vec.new(0, 0), 0
for i = 1, n * 5000 do
  local w = Vec.new(i % 7, i % 11)
  v = v + w
  dots = dots + v:dot(w) % 1000
end
print("metatables", v.x, v.y, dots)

local out = assert(io.open("lua-out.txt", "w"))
for i = 1, n * 100 do out:write(i, " ", t[i], "\n") end
out:close()
local lines, sum = 0, 0
for line in io.lines("lua-out.txt") do
  local a, b = line:match("(%d+) (%d+)")
  lines, sum = lines + 1, sum + tonumber(a) + tonumber(b)
end
print("file", lines, sum)
