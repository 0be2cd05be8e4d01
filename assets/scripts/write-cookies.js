// Writes the cookies it is called with (each "name=value; path=/; SameSite=Strict; expires=…") into
// document.cookie, Secure on https (ui/identity.py's cookie_script calls it with them). Done, it empties
// its own script element: no token stays in the page's source either.
(function (cookies) {
  var secure = location.protocol === 'https:' ? '; Secure' : '';
  cookies.forEach(function (cookie) { document.cookie = cookie + secure; });
  if (document.currentScript) { document.currentScript.textContent = ''; }
})
